# Pick Nova's concurrency backend (native threads under
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1, set by tox) before any test module
# imports oslo.messaging: nova refuses to run once eventlet is loaded.
from nova import monkey_patch

monkey_patch.patch()
