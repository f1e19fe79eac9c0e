"""The tox plugin that lets ``tox -e sandbox -- --json`` print JSON alone.

tox 3's own configuration loader reads this repository's tox.ini with the
plugin (``tools/tox-vdesk``) registered, as ``tox`` does on the command
line; what the loader leaves in tox's reporter decides whether tox prints
its status lines on the command's stdout.
"""

import importlib.util
import os

import fixtures
import testtools
from tox import config as tox_config
from tox import reporter

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
PLUGIN = os.path.join(ROOT, 'tools', 'tox-vdesk', 'tox_vdesk.py')


def _load_plugin():
    spec = importlib.util.spec_from_file_location('tox_vdesk', PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ToxPluginTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('TOXENV'))
        self.plugin = _load_plugin()
        self.addCleanup(reporter.update_default_reporter, 0, 0)

    def verbosity(self, *args):
        reporter.update_default_reporter(0, 0)
        config = tox_config.parseconfig(
            ['-c', os.path.join(ROOT, 'tox.ini')] + list(args),
            plugins=(self.plugin,))
        return config.option.quiet_level, reporter.verbosity()

    def test_sandbox_json_is_quiet_as_qq(self):
        self.assertEqual((2, -2), self.verbosity('-e', 'sandbox', '--',
                                                 '--json'))
        self.assertEqual((2, -2), self.verbosity(
            '-e', 'sandbox', '--', '--cloud', 'libvirt', '--json'))

    def test_toxenv_sandbox_json_is_quiet(self):
        self.useFixture(fixtures.EnvironmentVariable('TOXENV', 'sandbox'))
        self.assertEqual((2, -2), self.verbosity('--', '--json'))

    def test_other_runs_keep_their_status_lines(self):
        self.assertEqual((0, 0), self.verbosity('-e', 'sandbox'))
        self.assertEqual((0, 0), self.verbosity('-e', 'sandbox', '--',
                                                '--serve'))
        self.assertEqual((0, 0), self.verbosity('-e', 'py3,sandbox', '--',
                                                '--json'))
        self.assertEqual((0, 0), self.verbosity('-e', 'py3', '--',
                                                '--json'))

    def test_more_quiet_asked_stays(self):
        self.assertEqual((3, -3), self.verbosity('-qqq', '-e', 'sandbox',
                                                 '--', '--json'))
