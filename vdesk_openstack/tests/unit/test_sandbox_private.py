"""Secret-bearing sandbox files: owner-only, never written through a link."""

import os
import stat

import fixtures
import testtools

from vdesk_openstack.sandbox import private


class PrivateFilesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        old = os.umask(0o022)
        self.addCleanup(os.umask, old)

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_write_is_owner_only_even_over_a_wider_file(self):
        path = os.path.join(self.tmp, 'a.conf')
        with open(path, 'w') as f:
            f.write('old')
        os.chmod(path, 0o644)
        private.write(path, 'password = x\n')
        self.assertEqual(0o600, self.mode(path))
        with open(path) as f:
            self.assertEqual('password = x\n', f.read())

    def test_a_planted_link_is_refused(self):
        target = os.path.join(self.tmp, 'target')
        with open(target, 'w') as f:
            f.write('keep')
        link = os.path.join(self.tmp, 'sandbox.log')
        os.symlink(target, link)
        self.assertRaises(OSError, private.open_fd, link,
                          os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.assertRaises(OSError, private.write, link, 'secret')
        with open(target) as f:
            self.assertEqual('keep', f.read())

    def test_make_dir_sets_the_mode_of_an_existing_directory(self):
        path = os.path.join(self.tmp, 'svc')
        os.mkdir(path, 0o755)
        os.chmod(path, 0o755)
        private.make_dir(path)
        self.assertEqual(0o700, self.mode(path))
        nested = private.make_dir(os.path.join(self.tmp, 'a', 'b'))
        self.assertEqual(0o700, self.mode(nested))
