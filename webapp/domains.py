"""What happens to one domain on import: normalise it, then decide whether it may be monitored."""

import ipaddress
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache

import idna
from publicsuffixlist import PublicSuffixList

ERROR = "There was an error in the Import"
LICENSE_LIMIT = "Domain license limit reached"
GOV = ".gov domain was not imported due to licensing issues. Please contact your import manager."
INVALID = "Not a valid domain name"

# Seed of the support-managed protected list: shared mail providers and large platforms, where
# monitoring the domain would expose other people's addresses rather than the customer's.
DEFAULT_PROTECTED = (
    "gmail.com",
    "googlemail.com",
    "google.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "microsoft.com",
    "office.com",
    "office365.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "apple.com",
    "proton.me",
    "protonmail.com",
    "tutanota.com",
    "fastmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "qq.com",
    "163.com",
    "amazon.com",
    "amazonaws.com",
    "facebook.com",
    "instagram.com",
    "linkedin.com",
    "twitter.com",
    "x.com",
    "github.com",
    "dropbox.com",
    "salesforce.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "cox.net",
)

# RFC 2606 reserves these TLDs for documentation and testing; they are not in the public suffix
# list, but our sandbox and tests use them, so each is treated as a one-label public suffix.
_RESERVED_TLDS = frozenset({"example", "test"})

# Scripts that legitimately share one label (Japanese, Chinese and Korean writing mix Han with
# their own scripts and with Latin); any other mix of scripts in a label is a look-alike risk.
_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}

# Longer input is junk, and capping it keeps hostile payloads cheap to refuse.
_MAX_INPUT = 2048
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class InvalidDomain(ValueError):
    """The text is not a domain name that can be monitored."""


@dataclass(frozen=True)
class Verdict:
    """The outcome for one domain: its normalised name and why it is refused (None: importable)."""

    raw: str
    name: str | None
    reason: str | None

    @property
    def importable(self) -> bool:
        """Whether nothing here stops the domain from being imported."""
        return self.reason is None


def protected_reason(support_email: str) -> str:
    """The reason shown for a protected domain, naming who to contact."""
    return (
        f"Your search includes a sensitive or protected domain or address. Contact {support_email}"
    )


def already_monitored_reason(org_name: str) -> str:
    """The reason shown for a domain that another organization already monitors."""
    return f"Already monitored by {org_name}"


def normalise(raw: str) -> str:
    """Return the canonical ASCII form of a domain name or URL, or raise InvalidDomain."""
    text = raw.strip()
    if not text:
        raise InvalidDomain("empty")
    if len(text) > _MAX_INPUT:
        raise InvalidDomain("too long")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidDomain("contains control or invisible characters")
    if any(char.isspace() for char in text):
        raise InvalidDomain("contains spaces")
    try:
        # Mapping first (case, fullwidth forms, ideographic dots) lets URL parsing see plain ASCII.
        text = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError:
        raise InvalidDomain("contains characters not allowed in domain names") from None
    name = _host(text)
    if name.endswith("."):
        name = name[:-1]
    while name.startswith("www."):
        name = name[4:]
    _refuse_ip(name)
    try:
        name = idna.encode(name, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise InvalidDomain("has characters or labels not allowed in domain names") from None
    _check_ascii(name)
    _check_scripts(name)
    suffix = _public_suffix(name)
    if suffix is None:
        raise InvalidDomain("unknown top-level domain")
    if name == suffix:
        raise InvalidDomain("a public suffix on its own is not a domain")
    return name


def registrable(name: str) -> str:
    """Return the registrable domain of a normalised name (ICANN rules), e.g. gmail.com."""
    suffix = _public_suffix(name)
    if suffix is None or name == suffix:
        raise InvalidDomain("no registrable domain")
    depth = suffix.count(".") + 2
    return ".".join(name.split(".")[-depth:])


def is_gov(name: str) -> bool:
    """Whether a normalised name is registered under a government suffix such as gov or gov.uk."""
    # Any label of the ICANN public suffix counts, so both gov.au and its state suffixes such as
    # sa.gov.au qualify; a "gov" label the registrant chose (gov.example.com) does not.
    suffix = _public_suffix(name)
    return suffix is not None and "gov" in suffix.split(".")


def is_protected(name: str, protected: Collection[str]) -> bool:
    """Whether a normalised name, or a parent of it down to its registrable domain, is protected."""
    labels = name.split(".")
    top = registrable(name).count(".") + 1
    return any(".".join(labels[i:]) in protected for i in range(len(labels) - top + 1))


def classify(raw: str, *, protected: Collection[str], support_email: str) -> Verdict:
    """Decide whether one domain may be imported, before licenses and existing monitoring."""
    try:
        name = normalise(raw)
    except InvalidDomain:
        return Verdict(raw, None, INVALID)
    if is_gov(name):
        return Verdict(raw, name, GOV)
    if is_protected(name, protected):
        return Verdict(raw, name, protected_reason(support_email))
    return Verdict(raw, name, None)


def dedupe(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Keep the first verdict for each normalised name, in order; invalid ones are all kept."""
    seen = set()
    kept = []
    for verdict in verdicts:
        if verdict.name is not None:
            if verdict.name in seen:
                continue
            seen.add(verdict.name)
        kept.append(verdict)
    return kept


def _host(text: str) -> str:
    """Reduce a URL, or a name with a path or port, to its host."""
    match = _SCHEME.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("//"):
        text = text[2:]
    host = re.split(r"[/?#]", text, maxsplit=1)[0]
    # user@host is ambiguous in a URL and an e-mail address otherwise: neither names a domain.
    if "@" in host:
        raise InvalidDomain("e-mail addresses and URLs with a user name are not domain names")
    if host.startswith("[") or host.count(":") > 1:
        raise InvalidDomain("IP addresses are not domain names")
    host, _, port = host.partition(":")
    if not port.isdigit() and port:
        raise InvalidDomain("not a valid port")
    if not host:
        raise InvalidDomain("no host")
    return host


def _refuse_ip(name: str) -> None:
    """Raise InvalidDomain for IP literals, including the hex and decimal forms inet_aton takes."""
    last = name.rsplit(".", 1)[-1]
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", last):
        raise InvalidDomain("IP addresses are not domain names")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return
    raise InvalidDomain("IP addresses are not domain names")


def _check_ascii(name: str) -> None:
    """Raise InvalidDomain unless an encoded name has only letter-digit-hyphen labels."""
    if len(name) > 253:
        raise InvalidDomain("longer than 253 characters")
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidDomain("a single label is not a domain")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidDomain("a label is empty, too long or has characters not allowed")


def _check_scripts(name: str) -> None:
    """Raise InvalidDomain if one label mixes scripts, as in a Cyrillic look-alike of paypal."""
    if "xn--" not in name:
        return
    for label in idna.decode(name).split("."):
        scripts = {_script(char) for char in label if unicodedata.category(char).startswith("L")}
        scripts.discard(None)
        if len(scripts) > 1 and not any(scripts <= mix for mix in _SCRIPT_MIXES):
            raise InvalidDomain("mixes alphabets in one label (a look-alike risk)")


def _script(char: str) -> str | None:
    """Approximate the Unicode script of a letter from its name (Python has no script property)."""
    word = unicodedata.name(char, "").split(" ", 1)[0]
    if word in ("", "MODIFIER"):
        return None
    return _SCRIPT_ALIASES.get(word, word)


def _public_suffix(name: str) -> str | None:
    """Return the ICANN public suffix of a name, or None when its TLD is unknown."""
    tld = name.rsplit(".", 1)[-1]
    if tld in _RESERVED_TLDS:
        return tld
    return _psl().publicsuffix(name)


@cache
def _psl() -> PublicSuffixList:
    """Load the public suffix list bundled with the package, once, on first use."""
    # The bundled copy, never a download; ICANN rules only, because private entries such as
    # blogspot.com describe hosting, not who owns a domain; unknown TLDs (intranet.local, typos)
    # have no public suffix, so names under them are refused.
    return PublicSuffixList(only_icann=True, accept_unknown=False)
