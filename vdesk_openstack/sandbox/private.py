"""Files of the sandbox that hold secrets: owner-only, never via a link.

The sandbox's configuration files carry the services' passwords, the
RADIUS secret and database URLs; its work directories hold the HSS key
and the HLR's SIM secrets. They are written mode 0600 in 0700
directories, and opened with ``O_NOFOLLOW`` so that a link planted in a
shared directory cannot redirect a write.
"""

import os


def make_dir(path, mode=0o700):
    """Create ``path`` and its missing parents, each with ``mode``.

    An existing ``path`` gets ``mode`` too; existing parents keep theirs.
    """
    missing = []
    parent = os.path.abspath(path)
    while not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        os.makedirs(directory, mode=mode, exist_ok=True)
        os.chmod(directory, mode)
    os.chmod(path, mode)
    return path


def open_fd(path, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o600):
    """``os.open`` of ``path`` that refuses a symlink and sets ``mode``."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write(path, text, mode=0o600):
    """Write ``text`` to ``path``, readable by its owner only."""
    with os.fdopen(open_fd(path, mode=mode), 'w') as f:
        f.write(text)
    return path
