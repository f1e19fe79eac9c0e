#!/usr/bin/env python3
"""Print a short account of the failed tests of stestr's last run.

CI logs are long and often read from their end; this puts each failed
test's name and the last lines of its traceback there.  Reads the subunit
v2 stream of ``stestr last --subunit`` on stdin.
"""

import sys

import subunit
import testtools

TAIL_LINES = 8


def main():
    failures = []

    def on_test(test):
        if test['status'] not in ('fail', 'uxsuccess'):
            return
        details = test['details']
        text = ''
        for name in ('traceback', 'reason'):
            if name in details:
                text = details[name].as_text()
                break
        failures.append((test['id'], text.rstrip().splitlines()))

    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        subunit.ByteStreamToStreamResult(
            sys.stdin.buffer, non_subunit_name='stdout').run(result)
    finally:
        result.stopTestRun()
    if not failures:
        print('ci: the last test run recorded no failed test')
        return 0
    print('ci: %d failed test(s) in the last run:' % len(failures))
    for test_id, lines in failures:
        print('--- %s' % test_id)
        for line in lines[-TAIL_LINES:]:
            print('    ' + line[:300])
    return 0


if __name__ == '__main__':
    sys.exit(main())
