"""report.html: self-contained, the verdict table first, then every chart, then the manifest."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from analysis.report import CHARTS, build_report
from tests.synthetic import request, write_run


def full_run(root: Path, raw_fraction: float = 1.0) -> Path:
    """Reads returning items, writes with index capacity, a throttled request: every chart."""
    reqs = []
    for k in range(300):
        reqs.append(("get_conversation", request(1500 + k, at_s=k / 20, capacity=0.5, items=1,
                                                 response_bytes=900 + k)))
        reqs.append(("append_message", request(2500 + k, at_s=k / 20, capacity=1 + k // 100,
                                               index_capacity=1.0)))
    reqs.append(("get_conversation", request(900, at_s=3.0, outcome="throttled")))
    return write_run(root, "full", reqs, interval_s=1.0, raw_fraction=raw_fraction)


def images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img class="chart" alt="([^"]+)" onload="[^"]+" '
                       r'src="data:image/png;base64,([^"]+)">', page)
    return {html.unescape(alt): base64.b64decode(data) for alt, data in found}


def test_report_has_the_verdict_table_then_every_chart_then_the_manifest(tmp_path: Path) -> None:
    run_dir = full_run(tmp_path)
    summary = build_report(run_dir)
    page = (run_dir / "report.html").read_text()
    pictures = images(page)
    assert list(pictures) == list(CHARTS)
    assert all(png.startswith(b"\x89PNG") and len(png) > 5000 for png in pictures.values())
    verdicts = page.index('<table id="verdicts">')
    assert verdicts < page.index("<img") and page.rindex("<img") < page.index("<h2>Manifest</h2>")
    table = page[verdicts:page.index("</table>", verdicts)]
    for v in summary["slo"]["verdicts"]:
        assert (f"<td>{v['pattern']}</td><td>p99 &lt; 10 ms, errors &lt;= 0.10%</td>"
                f"<td>{v['value_ms']:.3f}</td>") in table
    # 301 requests: the throttled one is over the 0.1% budget; 300 cannot judge a p99.
    assert '<td class="fail">FAIL (error rate 0.33% &gt; budget 0.10% (1 of 301 failed))</td>' in table
    assert '<td class="not">not enough data (n=300; p99 needs 1,000)</td>' in table
    assert json.loads(html.unescape(page[page.index("<pre>") + 5:page.index("</pre>")]))["run_id"] == "full"
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    assert page.count("this.dataset.rendered") == len(CHARTS)  # read by tests/test_browser.py
    for section in ('id="percentiles"', 'id="rates"', 'id="capacity"'):
        assert section in page
    assert "throttled" in page[page.index('id="rates"'):]


def test_charts_needing_raw_records_are_named_when_left_out(tmp_path: Path) -> None:
    run_dir = full_run(tmp_path, raw_fraction=0.0)
    build_report(run_dir)
    page = (run_dir / "report.html").read_text()
    assert list(images(page)) == [CHARTS[0], CHARTS[1], CHARTS[3]]
    for title in (CHARTS[2], CHARTS[4], CHARTS[5]):
        assert f"{html.escape(title)}: left out, no raw request records" in page
