import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp import domains
from webapp.domains import (
    DEFAULT_PROTECTED,
    InvalidDomain,
    Verdict,
    classify,
    dedupe,
    is_gov,
    is_protected,
    normalise,
    registrable,
)

SUPPORT = "support@darkweb.example"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.com.", "example.com"),
        ("Example.com", "example.com"),
        ("EXAMPLE.COM", "example.com"),
        ("  example.com\t", "example.com"),
        ("example.com\n", "example.com"),
        ("ＥＸＡＭＰＬＥ.com", "example.com"),
        ("example．com", "example.com"),
        ("example.com。", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"),
        ("faß.de", "xn--fa-hia.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("日本語.jp", "xn--wgv71a119e.jp"),
        ("ドメイン名例.jp", "xn--eckwd4c7cu47r2wf.jp"),
        ("https://www.Fabrikam-Example.com/contact", "fabrikam-example.com"),
        ("http://example.com/path", "example.com"),
        ("HTTPS://EXAMPLE.COM", "example.com"),
        ("https://example.com:8443/a?b=c#d", "example.com"),
        ("https://example.com?q=1", "example.com"),
        ("https://example.com#top", "example.com"),
        ("https://example.com/contact@example.org", "example.com"),
        ("//example.com/x", "example.com"),
        ("example.com/path", "example.com"),
        ("example.com:8080", "example.com"),
        ("www.example.com", "example.com"),
        ("WWW.Example.COM.", "example.com"),
        ("www.www.example.com", "example.com"),
        ("https://www.example.co.uk/", "example.co.uk"),
        ("wwwexample.com", "wwwexample.com"),
        ("mail.www.example.com", "mail.www.example.com"),
        ("smtp.gmail.com", "smtp.gmail.com"),
        ("my-company.test", "my-company.test"),
        ("a.b.council.gov.uk", "a.b.council.gov.uk"),
        ("163.com", "163.com"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 63] * 3) + "." + "b" * 57 + ".com", None),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == (expected or raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "exa mple.com",
        "example.com x",
        "-bad.com",
        "bad-.com",
        "ab--cd.com",
        "example..com",
        ".example.com",
        "example.com..",
        "a" * 64 + ".com",
        ".".join(["a" * 63] * 4) + ".com",
        "x" * 5000 + ".com",
        "<script>.example.com",
        "exa>mple.com",
        "*.example.com",
        "exam_ple.com",
        "exa\u200dmple.com",
        "exa\u200bmple.com",
        "example.com\r\nX: y",
        "example\x00.com",
        "\x00example.com",
        "exa\u202emple.com",
        "127.0.0.1",
        "http://127.0.0.1/",
        "１２７.０.０.１",
        "127.1",
        "[::1]",
        "http://[::1]:8080/",
        "::1",
        "fe80::1",
        "0x7f000001",
        "0x7f.0x0.0x0.0x1",
        "2130706433",
        "localhost",
        "intranet",
        "foo.localhost",
        "intranet.local",
        "example.invalidtld",
        "example.comm",
        "com",
        "co.uk",
        "gov.uk",
        "uk",
        ".com",
        "admin@company.example",
        "mailto:admin@company.example",
        "https://user@example.com",
        "https://user:pass@example.com/",
        "https://example.com@evil.test",
        "example.com:port",
        "https://",
        "www.",
        "www.com",
        ".",
        "xn--zz.com",
        "раураl.com",
        "xn--l-7sba6dbr.com",
        "pаypal.com",
        "gοogle.com",
    ],
)
def test_normalise_rejects(raw):
    with pytest.raises(InvalidDomain):
        normalise(raw)


def test_invalid_domain_is_a_value_error():
    assert issubclass(InvalidDomain, ValueError)


def test_mixed_script_message_says_why():
    with pytest.raises(InvalidDomain, match="look-alike"):
        normalise("раураl.com")


def test_whole_cyrillic_label_is_not_mixed():
    assert normalise("пример.com") == "xn--e1afmkfd.com"


@pytest.mark.parametrize("raw", ["Example.com", "example.com.", "EXAMPLE.COM", "www.example.com"])
def test_equivalent_spellings_normalise_alike(raw):
    assert normalise(raw) == "example.com"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example.com", "example.com"),
        ("smtp.gmail.com", "gmail.com"),
        ("a.b.council.gov.uk", "council.gov.uk"),
        ("shop.example.co.uk", "example.co.uk"),
        ("health.nsw.gov.au", "nsw.gov.au"),
        ("x.health.sa.gov.au", "health.sa.gov.au"),
        ("mail.xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("deep.sub.my-company.test", "my-company.test"),
        ("user.blogspot.com", "blogspot.com"),
    ],
)
def test_registrable(name, expected):
    assert registrable(name) == expected


@pytest.mark.parametrize("name", ["com", "co.uk", "example", "example.invalidtld"])
def test_registrable_refuses_names_without_one(name):
    with pytest.raises(InvalidDomain):
        registrable(name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("springfield.gov", True),
        ("mail.springfield.gov", True),
        ("SPRINGFIELD.GOV.", True),
        ("council.gov.uk", True),
        ("a.b.council.gov.uk", True),
        ("health.gov.au", True),
        ("health.nsw.gov.au", True),
        ("health.sa.gov.au", True),
        ("ministerio.gov.br", True),
        ("gov.example.com", False),
        ("governor.com", False),
        ("mygov.uk", False),
        ("gov.com", False),
        ("www.gov.example", False),
        ("example.gov.example", False),
        ("example.com", False),
        ("example.gouv.fr", False),
    ],
)
def test_is_gov(raw, expected):
    assert is_gov(normalise(raw)) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gmail.com", True),
        ("smtp.gmail.com", True),
        ("GMAIL.COM.", True),
        ("https://mail.Google.com/mail", True),
        ("notgmail.com", False),
        ("gmail.co", False),
        ("gmail.com.example", False),
        ("example.com", False),
    ],
)
def test_is_protected(raw, expected):
    assert is_protected(normalise(raw), {"gmail.com", "google.com"}) is expected


def test_protected_entry_below_the_registrable_domain_covers_its_subdomains():
    protected = {"mail.example.com"}
    assert is_protected("mail.example.com", protected)
    assert is_protected("smtp.mail.example.com", protected)
    assert not is_protected("example.com", protected)
    assert not is_protected("www2.example.com", protected)


def test_default_protected_entries_are_normalised_registrable_domains():
    assert len(DEFAULT_PROTECTED) >= 40
    assert len(set(DEFAULT_PROTECTED)) == len(DEFAULT_PROTECTED)
    for entry in DEFAULT_PROTECTED:
        assert normalise(entry) == entry
        assert registrable(entry) == entry
        assert not is_gov(entry)


def test_default_protected_includes_the_big_mail_providers():
    for entry in ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "aol.com"):
        assert entry in DEFAULT_PROTECTED


def test_reason_texts_are_exact():
    assert domains.ERROR == "There was an error in the Import"
    assert domains.LICENSE_LIMIT == "Domain license limit reached"
    assert domains.GOV == (
        ".gov domain was not imported due to licensing issues. Please contact your import manager."
    )
    assert domains.INVALID == "Not a valid domain name"
    assert domains.protected_reason("help@msp.example") == (
        "Your search includes a sensitive or protected domain or address. Contact help@msp.example"
    )
    assert domains.already_monitored_reason("Contoso Ltd") == "Already monitored by Contoso Ltd"


@pytest.mark.parametrize(
    ("raw", "name", "reason"),
    [
        ("https://www.Fabrikam-Example.com/contact", "fabrikam-example.com", None),
        ("bücher.example", "xn--bcher-kva.example", None),
        ("intranet", None, domains.INVALID),
        ("admin@company.example", None, domains.INVALID),
        ("127.0.0.1", None, domains.INVALID),
        ("раураl.com", None, domains.INVALID),
        ("springfield.gov", "springfield.gov", domains.GOV),
        ("council.gov.uk", "council.gov.uk", domains.GOV),
        ("smtp.gmail.com", "smtp.gmail.com", domains.protected_reason(SUPPORT)),
        ("GMAIL.COM.", "gmail.com", domains.protected_reason(SUPPORT)),
        ("notgmail.com", "notgmail.com", None),
    ],
)
def test_classify(raw, name, reason):
    verdict = classify(raw, protected=DEFAULT_PROTECTED, support_email=SUPPORT)
    assert verdict == Verdict(raw=raw, name=name, reason=reason)
    assert verdict.importable is (reason is None)


def test_classify_puts_gov_before_protected():
    verdict = classify("city.gov", protected={"city.gov"}, support_email=SUPPORT)
    assert verdict.reason == domains.GOV


def test_classify_uses_the_given_protected_list_only():
    verdict = classify("gmail.com", protected=(), support_email=SUPPORT)
    assert verdict.reason is None


def test_verdict_is_frozen():
    verdict = Verdict("example.com", "example.com", None)
    with pytest.raises(AttributeError):
        verdict.reason = domains.ERROR


def test_dedupe_keeps_the_first_of_each_name_in_order():
    raws = [
        "Example.com",
        "b.example",
        "example.com.",
        "EXAMPLE.COM",
        "bogus",
        "bogus",
        "b.example",
    ]
    verdicts = [classify(raw, protected=(), support_email=SUPPORT) for raw in raws]
    kept = dedupe(verdicts)
    assert [v.raw for v in kept] == ["Example.com", "b.example", "bogus", "bogus"]
    assert kept[0] is verdicts[0]


def test_dedupe_of_nothing_is_empty():
    assert dedupe([]) == []


def test_public_suffix_list_is_the_bundled_copy(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the public suffix list must never be fetched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    domains._psl.cache_clear()
    assert registrable("a.b.example.co.uk") == "example.co.uk"
    assert is_gov("council.gov.uk")


labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
names = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(labels, min_size=1, max_size=4),
    st.sampled_from(["com", "co.uk", "example", "test", "de", "gov", "gov.au", "xn--p1ai"]),
)
decorations = st.tuples(
    st.sampled_from(["", " ", "http://", "https://", "//", "HTTPS://www."]),
    st.sampled_from(["", "www.", "WWW.", "www.www."]),
    st.booleans(),
    st.sampled_from(["", ".", "/", "/path?q=1", ":8080", ":443/x#y"]),
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_normalise_only_raises_invalid_domain(raw):
    try:
        name = normalise(raw)
    except InvalidDomain:
        return
    assert normalise(name) == name
    assert name == name.lower() and name.isascii()
    assert not name.endswith(".") and not name.startswith("www.")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda t: t + ".com"))
def test_normalise_is_idempotent_on_arbitrary_names(raw):
    try:
        name = normalise(raw)
    except InvalidDomain:
        return
    assert normalise(name) == name
    assert name == name.lower() and not name.endswith(".") and not name.startswith("www.")


@settings(max_examples=300, deadline=None)
@given(names, decorations)
def test_decorated_names_reduce_to_the_name(name, decoration):
    prefix, www, upper, suffix = decoration
    stripped = name
    while stripped.startswith("www."):
        stripped = stripped[4:]
    raw = prefix + www + (name.upper() if upper else name) + suffix
    try:
        expected = normalise(stripped)
    except InvalidDomain:
        with pytest.raises(InvalidDomain):
            normalise(raw)
        return
    assert normalise(raw) == expected
    assert normalise(expected) == expected


@settings(max_examples=200, deadline=None)
@given(names)
def test_classify_never_raises(name):
    verdict = classify(name, protected=DEFAULT_PROTECTED, support_email=SUPPORT)
    assert verdict.reason in (None, domains.INVALID, domains.GOV, domains.protected_reason(SUPPORT))
    assert (verdict.name is None) == (verdict.reason == domains.INVALID)
