"""The class results of batch mode: scores.csv (a row per student, a
column per test, the total), summary.json, and report.html with its plots
(score distribution, pass rate per test, submissions that did not build)
drawn as inline SVG by this module: no plotting library, one file an
instructor opens in any browser."""

import csv
import html
import json
import os


def test_ids(students):
    """Every test id seen, in first-seen order (declaration order)."""
    ids = []
    for s in students:
        for tid in list(s["tests"]) + s.get("not_run", []):
            if tid not in ids:
                ids.append(tid)
    return ids


def write_csv(path, students):
    ids = test_ids(students)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "state", "total", "max"] + ids)
        for s in students:
            cells = []
            for tid in ids:
                t = s["tests"].get(tid)
                cells.append("" if t is None else t["score"])
            w.writerow([s["student"], s["state"], s["score"], s["max_score"]] + cells)


def write_all(out, summary):
    students = summary["students"]
    write_csv(os.path.join(out, "scores.csv"), students)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "report.html"), "w", encoding="utf-8") as f:
        f.write(report_html(summary))


# ---------------------------------------------------------------- plots

def _svg_bars(values, labels, width=640, bar_h=None, title="", value_fmt="%d", vmax=None,
              horizontal=False, color="#4a7bb7"):
    """A bar chart as an SVG string: vertical bars (histogram) or, with
    horizontal=True, one labelled row per value."""
    esc = html.escape
    vmax = vmax or max(values + [1])
    if horizontal:
        row, left, right = 18, 200, 60
        h = row * len(values) + 30
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
               'aria-label="%s">' % (width, h, esc(title))]
        for i, (v, lab) in enumerate(zip(values, labels)):
            y = 20 + i * row
            w = (width - left - right) * v / vmax
            out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>'
                       % (left - 6, y + 12, esc(lab)))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                       % (left, y + 2, w, row - 4, color))
            out.append('<text x="%.1f" y="%d" font-size="11">%s</text>'
                       % (left + w + 4, y + 12, esc(value_fmt % v)))
        out.append("</svg>")
        return "\n".join(out)
    h, bottom, top = 220, 40, 20
    n = max(len(values), 1)
    bw = (width - 40) / n
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
           'aria-label="%s">' % (width, h, esc(title))]
    out.append('<line x1="20" y1="%d" x2="%d" y2="%d" stroke="#333"/>'
               % (h - bottom, width - 20, h - bottom))
    for i, (v, lab) in enumerate(zip(values, labels)):
        bh = (h - bottom - top) * v / vmax
        x = 20 + i * bw
        out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                   % (x + 1, h - bottom - bh, bw - 2, bh, color))
        if v:
            out.append('<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>'
                       % (x + bw / 2, h - bottom - bh - 3, esc(value_fmt % v)))
        out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                   % (x + bw / 2, h - bottom + 14, esc(lab)))
    out.append("</svg>")
    return "\n".join(out)


def histogram(students, bins=10):
    """(counts, labels) of the total scores in percent of the maximum."""
    counts = [0] * bins
    for s in students:
        pct = 100.0 * s["score"] / s["max_score"] if s["max_score"] else 0.0
        counts[min(bins - 1, int(pct * bins / 100))] += 1
    step = 100 // bins
    labels = ["%d-%d%%" % (i * step, (i + 1) * step - (0 if i == bins - 1 else 1))
              for i in range(bins)]
    return counts, labels


def pass_rates(students):
    """[(test id, passed, graded)] sorted from the least passed."""
    rows = []
    for tid in test_ids(students):
        graded = [s["tests"][tid] for s in students if tid in s["tests"]]
        passed = sum(1 for t in graded if t["verdict"] == "OK")
        rows.append((tid, passed, len(graded)))
    rows.sort(key=lambda r: (r[1] / r[2] if r[2] else 0.0, r[0]))
    return rows


def report_html(summary):
    esc = html.escape
    students = summary["students"]
    graded = [s for s in students if s["state"] in ("graded", "incomplete")]
    counts, labels = histogram(graded)
    rates = pass_rates(graded)
    broken = [s for s in students if s["state"] not in ("graded",)]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Strata: class results</title>",
             "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
             "font-size:13px;text-align:left}.bad{color:#a00}pre{white-space:pre-wrap;"
             "font-size:12px}</style></head><body>",
             "<h1>Class results</h1>",
             "<p>%d submission(s) from <code>%s</code>, graded with the pristine tests of "
             "<code>%s</code>; %d graded, %d not. Wall time %.0f s (%d at a time).</p>"
             % (len(students), esc(summary["submissions"]), esc(summary["pristine"]),
                len(students) - len(broken), len(broken), summary["wall_seconds"],
                summary["parallel"]),
             "<h2>Score distribution</h2>",
             "<p>Total score in percent of the maximum, graded submissions only.</p>",
             _svg_bars(counts, labels, title="score distribution"),
             "<h2>Pass rate per test</h2>",
             "<p>The tests most students fail come first.</p>",
             _svg_bars([100.0 * p / g if g else 0.0 for _, p, g in rates],
                       [tid for tid, _, _ in rates], horizontal=True, vmax=100.0,
                       title="pass rate per test", value_fmt="%.0f%%", color="#5b9a5b"),
             "<table><tr><th>test</th><th>passed</th><th>graded</th></tr>"]
    for tid, p, g in rates:
        parts.append("<tr><td>%s</td><td>%d</td><td>%d</td></tr>" % (esc(tid), p, g))
    parts.append("</table>")
    parts.append("<h2>Not graded: build failed, timed out or setup error (%d)</h2>" % len(broken))
    if broken:
        parts.append("<table><tr><th>student</th><th>state</th><th>why</th></tr>")
        for s in broken:
            parts.append('<tr><td>%s</td><td class="bad">%s</td><td><pre>%s</pre></td></tr>'
                         % (esc(s["student"]), esc(s["state"]), esc(s.get("error") or "")))
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Students</h2><table><tr><th>student</th><th>state</th><th>score</th>"
                 "<th>failed tests</th><th>seconds</th><th>CPU s</th><th>peak MiB</th></tr>")
    for s in students:
        failed = [tid for tid, t in s["tests"].items() if t["verdict"] != "OK"]
        parts.append("<tr><td>%s</td><td>%s</td><td>%d/%d</td><td>%s</td><td>%.1f</td>"
                     "<td>%s</td><td>%s</td></tr>" % (
                         esc(s["student"]), esc(s["state"]), s["score"], s["max_score"],
                         esc(" ".join(failed)), s["seconds"],
                         s["cpu_seconds"] if s["cpu_seconds"] is not None else "",
                         s["peak_rss_mib"] if s["peak_rss_mib"] is not None else ""))
    parts.append("</table><p>Per student: <code>students/NAME/</code> holds "
                 "<code>result.json</code>, <code>grade.log</code> and the test logs.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
