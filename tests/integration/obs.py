"""Helpers of the observability tests (test_metrics.py, test_clock.py):
/metrics parsed from the Prometheus text format, a bounded wait on a
condition. The registry, officers and the officer API are in flows.py."""
import re
import time

from flows import call


_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_metrics(text):
    """{(name, ((label, value), ...)): float}; checks the text's form on
    the way: every sample line parses, every family has one TYPE line
    before its samples."""
    out = {}
    typed = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in typed, "two TYPE lines for %s" % name
            typed[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = _LINE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        base = re.sub(r'_(bucket|sum|count)$', "", name)
        assert name in typed or base in typed, "sample before its TYPE: %r" % line
        pairs = []
        if labels:
            pos = 0
            while pos < len(labels):
                lm = _LABEL.match(labels, pos)
                assert lm, "bad labels in %r" % line
                pairs.append((lm.group(1), _unescape(lm.group(2))))
                pos = lm.end()
        key = (name, tuple(sorted(pairs)))
        assert key not in out, "sample twice: %r" % line
        out[key] = float(value)
    return out


def metrics(ga):
    code, text = call(ga, "GET", "/metrics")
    assert code == 200, (code, text)
    return parse_metrics(text)


def sample(m, name, **labels):
    """The value of one sample; None when absent."""
    return m.get((name, tuple(sorted(labels.items()))))


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = pred()
        if ok:
            return last
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s; last %r" % (what, timeout, last))
