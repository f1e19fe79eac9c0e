"""tox 3 plugin: ``tox -e sandbox -- --json`` prints the JSON report alone.

tox prints its own status lines (``sandbox develop-inst-nodeps: ...``,
``sandbox run-test: commands[0] | ...``, the summary) on the stdout it
gives the command, so ``tox -e sandbox -- --json | python -m json.tool``
fails unless tox is told ``-qq``. The sandbox report is meant to be piped:
when the only environment asked for is ``sandbox`` and ``--json`` is among
the command's arguments, this plugin quiets tox as ``-qq`` does. Errors of
tox itself still reach stderr, and the exit code is the command's.

``tools/test-setup.sh`` installs it next to tox.
"""

import os

import pluggy
from tox import reporter

hookimpl = pluggy.HookimplMarker('tox')

QUIET = 2  # tox -qq


def _envs(option):
    names = []
    for value in (option.env or []) or [os.environ.get('TOXENV', '')]:
        names.extend(n.strip() for n in value.split(',') if n.strip())
    return names


@hookimpl(trylast=True)
def tox_configure(config):
    option = config.option
    if _envs(option) == ['sandbox'] and '--json' in (option.args or []):
        option.quiet_level = max(option.quiet_level or 0, QUIET)
        option.verbose_level = 0
        reporter.update_default_reporter(option.quiet_level,
                                         option.verbose_level)
