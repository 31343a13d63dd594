"""Plain text shown as HTML (comments, notes, every email body): all escaped, addresses as links."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from app.templating import TRAILING, URL, linkify


def reference(text: str | None) -> Markup:
    """The rule spelled out with Markup's own formatting (slow, but plainly right)."""
    if not text:
        return Markup("")
    parts, last = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        if not url.split("://", 1)[1]:
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(url))
        last = match.start() + len(url)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "HTTPS://kinerja.example/x?a=1&b=2",
        "https://a.example/p",
        ".",
        ")",
        '"',
        "'",
        "<script>",
        "&",
        " ",
        "\n",
        "Lihat",
        "é",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=12).map("".join))
@example('Bukti: https://a.example/x?y=1&z="2". <b>ok</b>')
@example("http://")
def test_linkify_escapes_everything_and_links_addresses(text):
    html = linkify(text)
    assert isinstance(html, Markup)
    assert html == reference(text)
    # Nothing of the text reaches the HTML unescaped: without the links' own tags, no markup is left.
    bare = re.sub(r'<a href="[^"<>]*" rel="noopener noreferrer">|</a>', "", str(html))
    assert "<" not in bare and ">" not in bare


def test_an_address_becomes_a_link_without_its_trailing_full_stop():
    html = linkify("Unggah di https://kinerja.example/skp/5. Terima kasih")
    assert str(html) == (
        'Unggah di <a href="https://kinerja.example/skp/5" rel="noopener noreferrer">'
        "https://kinerja.example/skp/5</a>. Terima kasih"
    )
    assert linkify(None) == Markup("") and linkify("") == Markup("")
