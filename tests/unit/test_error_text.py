"""Provider error answers become one line people can read (HTML pages, JSON envelopes, text)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from bot.providers.akash import AkashProvider
from bot.providers.error_text import one_line, summarize_body
from bot.providers.errors import ProviderError
from bot.providers.neuranet import NeuraNetProvider
from bot.providers.nosana import NosanaProvider

NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
<!-- a padding to disable MSIE and Chrome friendly error page -->
<!-- a padding to disable MSIE and Chrome friendly error page -->
"""

NGINX_504 = """<html>\r
<head><title>504 Gateway Time-out</title></head>\r
<body>\r
<center><h1>504 Gateway Time-out</h1></center>\r
<hr><center>nginx</center>\r
</body>\r
</html>\r
"""


def cloudflare_page(code: int, reason: str) -> str:
    return f"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<title>dashboard.k8s.prd.nos.ci | {code}: {reason}</title>
<meta charset="UTF-8" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="robots" content="noindex, nofollow" />
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css" />
<style>body{{margin:0;padding:0}} .cf-error-title {{ font-size: 2rem; }}</style>
<script>(function(){{if(document.addEventListener&&window.JSON){{var a="<b>x</b>";}}}})();</script>
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8">
      <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark">
        <span class="inline-block">{reason}</span>
        <span class="code-label">Error code {code}</span>
      </h1>
      <div>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a>
      for more information.</div>
    </header>
    <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto">
      <p class="text-13"><span>Cloudflare Ray ID: <strong>8e1f2a3b4c5d6e7f</strong></span>
      &bull; <span>Your IP: 203.0.113.9</span></p>
    </div>
  </div>
</div>
</body>
</html>
"""


CLOUDFLARE_520 = cloudflare_page(520, "Web server is returning an unknown error")
CLOUDFLARE_522 = cloudflare_page(522, "Connection timed out")
CLOUDFLARE_524 = cloudflare_page(524, "A timeout occurred")
UNTITLED = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>h1 { color: red }</style></head>
<body><div><div><h1>Something &amp; nothing</h1><p>Try later.</p></div></div></body></html>"""

PAGES = [
    pytest.param(502, NGINX_502, "502 Bad Gateway", id="nginx-502"),
    pytest.param(504, NGINX_504, "504 Gateway Time-out", id="nginx-504"),
    pytest.param(520, CLOUDFLARE_520, "520: Web server is returning an unknown error", id="cf-520"),
    pytest.param(522, CLOUDFLARE_522, "522: Connection timed out", id="cf-522"),
    pytest.param(524, CLOUDFLARE_524, "524: A timeout occurred", id="cf-524"),
    pytest.param(503, UNTITLED, "Service Unavailable", id="no-title"),
]


def assert_clean(text: str) -> None:
    assert "<" not in text and "&lt;" not in text and "&amp;" not in text
    assert "\n" not in text and "\r" not in text
    assert "padding" not in text and "cf-wrapper" not in text and "addEventListener" not in text


@pytest.mark.parametrize(("status", "page", "expected"), PAGES)
def test_html_pages_become_their_title_or_the_status_phrase(
    status: int, page: str, expected: str
) -> None:
    text = summarize_body(page, status=status, content_type="text/html")
    assert_clean(text)
    assert expected in text
    assert len(text) <= 160


def test_an_html_page_sent_without_a_content_type_is_still_recognized() -> None:
    assert summarize_body(NGINX_502, status=502) == "502 Bad Gateway"


def test_untitled_page_with_an_unknown_status_names_the_code() -> None:
    assert summarize_body("<html><body>oops</body></html>", status=530) == "HTTP 530"


def test_a_truncated_page_keeps_what_the_title_had() -> None:
    assert summarize_body("<html><head><title>502 Bad", status=502) == "502 Bad"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"error": "Deployment is in the incorrect state."}',
            "Deployment is in the incorrect state.",
        ),
        (
            '{"statusCode":500,"error":"Internal","message":"Authorization has expired."}',
            "Authorization has expired.",
        ),
        ('{"error": {"code": 5, "message": "node is gone"}}', "node is gone"),
        ('{"errors": [{"message": "first"}, {"message": "second"}]}', "first"),
        ("{}", "Bad Gateway"),
        ("", "Bad Gateway"),
        ("   \n ", "Bad Gateway"),
        (
            "upstream connect error or disconnect/reset before headers.\nreset reason: overflow",
            "upstream connect error or disconnect/reset before headers. reset reason: overflow",
        ),
    ],
)
def test_json_envelopes_and_text(body: str, expected: str) -> None:
    assert summarize_body(body, status=502) == expected


def test_long_bodies_are_cut_at_a_word_boundary() -> None:
    words = " ".join(f"word{i}" for i in range(100))
    text = summarize_body(words, status=500)
    assert len(text) <= 160
    assert text.endswith("…")
    assert text[:-1].split()[-1].startswith("word")  # a whole word before the ellipsis
    assert words.startswith(text[:-1].rstrip())


def test_one_line_cuts_a_single_overlong_word() -> None:
    text = one_line("x" * 500, limit=20)
    assert text == "x" * 19 + "…"


def _clients() -> list[tuple[str, object]]:
    return [
        ("Nosana", NosanaProvider(SecretStr("nos_key"), base_url="http://127.0.0.1:9")),
        ("Akash", AkashProvider(SecretStr("ak_key"), base_url="http://127.0.0.1:9")),
        ("NeuraNET", NeuraNetProvider(SecretStr("nn_live_key"), base_url="http://127.0.0.1:9")),
    ]


@pytest.mark.parametrize(("status", "page", "expected"), PAGES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_client_maps_an_error_page_to_one_clean_line(
    status: int, page: str, expected: str, method: str
) -> None:
    request = httpx.Request(method, "http://127.0.0.1:9/deployments")
    for label, client in _clients():
        response = httpx.Response(
            status, text=page, headers={"content-type": "text/html"}, request=request
        )
        error = client.map_error(response)  # type: ignore[attr-defined]
        assert isinstance(error, ProviderError)
        assert_clean(error.message)
        assert expected in error.message, (label, error.message)
        assert len(error.message) < 300
