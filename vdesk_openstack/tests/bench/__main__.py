"""Run the benchmarks: ``tox -e bench [-- NAME ...]``.

Every module ``bench_<name>.py`` in this package exposes ``main()`` that
measures a figure of ours and a baseline in the same run and prints both
with their ratio. Timing targets live here, never in tests: the machine is
small and noisy, so a ratio against a baseline measured alongside is what
means something.
"""

import importlib
import pkgutil
import subprocess  # nosec: runs this very module again
import sys

from vdesk_openstack.tests import bench


def main(argv):
    wanted = set(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                   if m.name.startswith('bench_'))
    unknown = wanted - {n[len('bench_'):] for n in names}
    if unknown:
        print('unknown benchmark(s): %s; available: %s' % (
            ', '.join(sorted(unknown)),
            ', '.join(n[len('bench_'):] for n in names)), file=sys.stderr)
        return 2
    failed = []
    for name in names:
        if wanted and name[len('bench_'):] not in wanted:
            continue
        print('=== %s ===' % name[len('bench_'):], flush=True)
        # Each in its own interpreter: what one imports (Nova's harness
        # forbids an eventlet imported before it) cannot upset another.
        if subprocess.call([sys.executable, '-m', __spec__.name, '--one',
                            name]) != 0:
            failed.append(name)
    if failed:
        print('failed: %s' % ', '.join(failed), file=sys.stderr)
        return 1
    return 0


def one(name):
    importlib.import_module('vdesk_openstack.tests.bench.' + name).main()
    return 0


if __name__ == '__main__':
    if sys.argv[1:2] == ['--one']:
        sys.exit(one(sys.argv[2]))
    sys.exit(main(sys.argv[1:]))
