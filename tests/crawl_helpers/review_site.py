"""A review website generated at test time from the real reviews in ``$MANYHEADS_DATA``.

The data (``womens-clothing-reviews``, CC0, see its README) is read where it lies and never
copied into the repository. The site has a home page, paginated department listings and one page
per review with a title, the text, a breadcrumb and stars; a few near-duplicate and exact-copy
review pages are added so that the store flags them and the dataset build drops them.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ReviewSite", "data_dir", "load_reviews", "make_review_site"]

PER_PAGE = 25


def data_dir() -> Path:
    """``$MANYHEADS_DATA``, else ``../shared/data`` next to the repository."""
    env = os.environ.get("MANYHEADS_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def load_reviews(n: int) -> Any:
    """The first ``n`` reviews (by row index) that have a text and a department."""
    import pandas as pd

    path = data_dir() / "womens-clothing-reviews" / "womens_clothing_ecommerce_reviews.csv.gz"
    if not path.exists():
        import pytest

        reason = f"{path} is missing (set MANYHEADS_DATA to the shared data folder)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    frame = pd.read_csv(path)
    frame = frame.rename(columns={frame.columns[0]: "idx"})
    frame = frame.dropna(subset=["Review Text", "Department Name"])
    return frame.head(n).reset_index(drop=True)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _page(title: str, body: str, *, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} | Retailer reviews</title>{head}</head>\n<body>\n"
        "<header><a href='/'>Retailer</a> <a href='/login'>Sign in</a></header>\n"
        f"{body}\n<footer>Retailer &copy; 2018 <a href='/about'>About us</a></footer>\n"
        "</body></html>\n"
    )


def review_html(review_id: int, title: str | None, text: str, department: str, rating: int) -> str:
    """One review page."""
    stars = "&#9733;" * rating + "&#9734;" * (5 - rating)
    h1 = f"<h1>{html.escape(title)}</h1>\n" if title else ""
    body = (
        f"<nav class='breadcrumb'><a href='/'>Home</a> &rsaquo; "
        f"<a href='/department/{_slug(department)}/'>{html.escape(department)}</a></nav>\n"
        f"<aside><span class='stars' data-value='{rating}'>{stars}</span> "
        f"<span class='id'>Review #{review_id}</span></aside>\n"
        f"<main>\n{h1}<p class='review-text'>{html.escape(text)}</p>\n</main>"
    )
    return _page(title or f"Review {review_id}", body)


@dataclass
class ReviewSite:
    """The generated pages (path -> HTML) and the reviews behind them."""

    pages: dict[str, str]
    reviews: Any
    extra: dict[str, tuple[str, int]]  # added review path -> (kind, source review id)


def make_review_site(n: int = 600, *, n_near: int = 3, n_exact: int = 2) -> ReviewSite:
    """Build the site for the first ``n`` usable reviews plus near and exact copies.

    Near copies repeat a review's text with one word appended; exact copies repeat it.
    """
    reviews = load_reviews(n)
    pages: dict[str, str] = {}
    listing: dict[str, list[int]] = {}
    rows: list[tuple[int, str | None, str, str, int]] = []
    for r in reviews.itertuples(index=False):
        title = r.Title if isinstance(r.Title, str) else None
        rows.append((int(r.idx), title, str(r[4]), str(r[9]), int(r.Rating)))
    extra: dict[str, tuple[str, int]] = {}
    # Near copies of long reviews: one appended word keeps their Jaccard similarity near 0.99.
    long_rows = [row for row in rows if len(row[2].split()) >= 80]
    for i, (rid, title, text, dept, rating) in enumerate(long_rows[: n_near + n_exact]):
        # "99999<id>" and "99998<id>" sort after "<id>": the original is the first URL kept.
        copy_id = int(f"{99999 if i < n_near else 99998}{rid}")
        copy_text = text + " Recommended!" if i < n_near else text
        rows.append((copy_id, title, copy_text, dept, rating))
        extra[f"/review/{copy_id}"] = ("near" if i < n_near else "exact", rid)
    for rid, title, text, dept, rating in rows:
        pages[f"/review/{rid}"] = review_html(rid, title, text, dept, rating)
        listing.setdefault(dept, []).append(rid)
    for dept, ids in listing.items():
        slug = _slug(dept)
        chunks = [ids[i : i + PER_PAGE] for i in range(0, len(ids), PER_PAGE)]
        for k, chunk in enumerate(chunks, start=1):
            path = f"/department/{slug}/" if k == 1 else f"/department/{slug}/page/{k}"
            links = "".join(f"<li><a href='/review/{rid}'>Review {rid}</a></li>" for rid in chunk)
            pager = f"<a class='next' href='/department/{slug}/page/{k + 1}'>Next</a>"
            body = f"<h1>{html.escape(dept)}</h1><ul>{links}</ul>" + (
                pager if k < len(chunks) else ""
            )
            pages[path] = _page(f"{dept} page {k}", body)
    home = "".join(
        f"<li><a href='/department/{_slug(d)}/'>{html.escape(d)}</a></li>" for d in listing
    )
    pages["/"] = _page("Retailer reviews", f"<h1>Departments</h1><ul>{home}</ul>")
    pages["/about"] = _page("About", "<h1>About</h1><p>We sell clothes.</p>")
    pages["/login"] = _page("Sign in", "<form><input name='user'></form>")
    pages["/robots.txt"] = "User-agent: *\nDisallow: /login\n"
    return ReviewSite(pages=pages, reviews=reviews, extra=extra)


REVIEW_CRAWL = """\
start_urls: ['{url}/']
allowed_domains: [127.0.0.1]
follow: {{allow: ['/department/'], deny: ['/login'], max_depth: 30}}
items:
  match: '/review/\\d+$'
  fields:
    title: {{css: 'h1::text'}}
    text: {{extract: main_text}}
    category: {{css: '.breadcrumb a:last-child::text'}}
    rating: {{xpath: '//span[@class="stars"]/@data-value', type: int}}
    review_id: {{url_regex: '/review/(\\d+)', type: int}}
store: '{store}'
politeness: {{autothrottle: false, concurrency_per_domain: 16}}
retries: {{backoff_s: 0.1}}
safety: {{allow_private: true}}
progress_s: 0
"""


def review_crawl_yaml(url: str, store: str, **extra: Any) -> str:
    """A crawl config for the review site (extra top-level keys appended as YAML)."""
    import yaml

    text = REVIEW_CRAWL.format(url=url, store=store)
    if extra:
        text += yaml.safe_dump(extra)
    return text
