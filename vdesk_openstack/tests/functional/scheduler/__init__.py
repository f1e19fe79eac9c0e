# Nova chooses its concurrency backend (native threads under
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1, as tox sets) when first imported for
# tests; do it before any test module loads oslo.messaging, as nova's own
# test packages do.
from nova import monkey_patch

monkey_patch.patch()
