"""HTML building blocks for the report: escaping, tables, notes, figures and the page shell.

The page is self-contained: inline CSS, images as data URIs, no scripts, no external resources.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

CSS = """
:root { --ink: #1d2330; --muted: #5f6b7a; --line: #dfe3ea; --accent: #2c5fa8; --bg: #f6f7f9; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 32px 60px; }
header h1 { margin: 0 0 2px; font-size: 26px; font-weight: 650; }
header .sub { color: var(--muted); font-size: 13px; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; margin: 20px 0 8px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 20px; font-weight: 600; margin-top: 2px; overflow-wrap: anywhere; }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 24px 22px;
          margin-top: 22px; }
h2 { margin: 0 0 12px; font-size: 20px; border-bottom: 2px solid var(--accent); padding-bottom: 6px; }
h3 { margin: 20px 0 8px; font-size: 16px; color: #2b3445; }
figure { margin: 10px 0 16px; }
.cols figure { margin-top: 16px; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; }
figure.full img { width: 100%; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
p.small { color: var(--muted); font-size: 13px; margin: 2px 0 8px; }
p.info { background: #eef3fb; border-left: 4px solid var(--accent); padding: 8px 12px; margin: 8px 0;
         border-radius: 4px; font-size: 14px; }
table { border-collapse: collapse; font-size: 13.5px; margin: 6px 0 10px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef1f6; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; display: inline-block; }
.scroll table { margin: 0; }
.cols { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
.cols > div { min-width: 0; max-width: 100%; }
.cols > div.wide { flex: 0 1 auto; }
.note { background: #fff7e6; border-left: 4px solid #e0a100; color: var(--warn); padding: 8px 12px;
        margin: 8px 0; border-radius: 4px; font-size: 14px; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f3f5f8; padding: 8px 12px; border-radius: 6px; overflow-x: auto; }
details summary { cursor: pointer; color: var(--accent); }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; text-align: center; }
"""


def esc(value: Any) -> str:
    """Text for HTML (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def note(text: str) -> str:
    """A visible "not available" box."""
    return f'<p class="note">{esc(text)}</p>'


def code_note(text: str, detail: str) -> str:
    """A note with a preformatted detail (e.g. an error message)."""
    return f'<div class="note">{esc(text)}<pre>{esc(detail)}</pre></div>'


def figure(uri: str, alt: str, caption: str = "", *, full: bool = False) -> str:
    """An embedded image; ``full`` stretches it across the page's width."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    cls = ' class="full"' if full else ""
    return f'<figure{cls}><img src="{uri}" alt="{esc(alt)}">{cap}</figure>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[int] = (),
          scroll: bool = False, table_id: str | None = None) -> str:
    """A table; columns whose index is in ``numeric`` are right-aligned. Cells are escaped."""
    num = set(numeric)

    def cell(tag: str, i: int, value: Any) -> str:
        cls = ' class="num"' if i in num else ""
        return f"<{tag}{cls}>{esc(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "\n".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    out = f"<table{ident}><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>"
    return f'<div class="scroll">{out}</div>' if scroll else out


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


def cards(items: Sequence[tuple[str, str]]) -> str:
    inner = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div></div>'
                    for k, v in items)
    return f'<div class="cards">{inner}</div>'


def page(title: str, subtitle: str, summary: str, sections: Sequence[tuple[str, str, str]], footer: str) -> str:
    """The whole document; ``sections`` are (anchor, title, body html)."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    body = "\n".join(section(a, t, b) for a, t, b in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f'<header><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>\n'
            f"{summary}\n<nav>{nav}</nav>\n{body}\n<footer>{esc(footer)}</footer>\n</main>\n</body>\n</html>\n")
