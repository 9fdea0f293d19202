"""Who is who whatever the spelling, and whom we can reach: a booking's checked contact (a
name, an email address or a phone number), the key of a contact for the per-person limit,
the client's network for the per-address cap, the emails that can be delivered and the
phones that can take a text. Pure functions."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.errors import BadRequest

# Providers that deliver `j.doe`, `jdoe` and `J.Doe` to one mailbox, and their one name.
DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
# Cyrillic and Greek letters whose prototype in Unicode's confusables.txt (UTS #39) is one
# ASCII Latin letter, both cases: `bоt` with a Cyrillic о is `bot`.
LOOK_ALIKES = str.maketrans(
    "\u037a\u037f\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4"
    "\u03a5\u03a7\u03b1\u03b3\u03b9\u03bd\u03bf\u03c1\u03c3\u03c5\u03d2\u03dc\u03f1\u03f2"
    "\u03f3\u03f9\u03fa\u0405\u0406\u0408\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420"
    "\u0421\u0422\u0423\u0425\u042c\u0430\u0433\u0435\u043e\u0440\u0441\u0443\u0445\u0455"
    "\u0456\u0458\u0461\u0474\u0475\u04ae\u04af\u04bb\u04bd\u04c0\u04cf\u0501\u050c\u051b"
    "\u051c\u051d\u1d26\u1fbe\ua647",
    "iJABEZHlKMNOPTYXayivopouYFpcjCMSlJABEKMHOPCTYXbareopcyxsijwVvYyhelidGqWwrii",
)
# Capitals whose prototype is `l` look like a capital I too, and the key ignores case.
LOOK_ALIKES.update({0x0399: ord("I"), 0x0406: ord("I"), 0x04C0: ord("I")})
# French overseas departments dialled like the mainland (0692…, 0690…): tried in turn
# when a number read as metropolitan French is not valid.
FRENCH_REGIONS = ("FR", "RE", "YT", "GP", "MQ", "GF")
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,)
# The North American plan (+1: the United States, Canada…) gives mobiles and landlines
# numbers of one kind: phonenumbers cannot tell them apart there, so such a number is
# taken as a mobile (its holder chose to be texted). Elsewhere, a number it cannot tell
# (a landline of Denmark, of Saint-Pierre-et-Miquelon…) is not one.
ONE_PLAN_COUNTRY_CODES = (1,)
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None
    phone: str | None


def normalise_name(name: str) -> str:
    clean_name = " ".join(name.split())
    if not clean_name:
        raise BadRequest("Give a name.", code="name_missing")
    if len(clean_name) > MAX_NAME_LENGTH or not clean_name.isprintable():
        raise BadRequest(
            f"The name must be printable and at most {MAX_NAME_LENGTH} characters.",
            code="name_invalid",
        )
    return clean_name


def contact(name: str, email: str | None, phone: str | None) -> Contact:
    """A checked contact: a name, and an email address or a phone number (or both)."""
    email = email.strip() if email else None
    phone = phone.strip() if phone else None
    if not email and not phone:
        raise BadRequest("Give an email address or a phone number.", code="contact_missing")
    return Contact(
        name=normalise_name(name),
        email=deliverable_email(email) if email else None,
        phone=e164(phone) if phone else None,
    )


def fold(text: str) -> str:
    """`text` as compared: NFKC, look-alikes taken to Latin, case folded."""
    folded = unicodedata.normalize("NFKC", text).translate(LOOK_ALIKES)
    return unicodedata.normalize("NFKC", folded.casefold()).translate(LOOK_ALIKES)


def email_key(address: str, *, folded: Callable[[str], str] = fold) -> str:
    """One key per person: folded, without `+tag`, the domain in IDNA, and without the
    dots a provider ignores. `Bot+7@Example.org`, `bоt@example.org` (Cyrillic о) and
    `bot@EXAMPLE.ORG` are one person. `folded`: how letters are compared."""
    local, _, domain = folded(address.strip()).rpartition("@")
    local = local.split("+", 1)[0]
    with contextlib.suppress(idna.IDNAError):  # else kept as written: one key per spelling
        domain = idna.encode(domain, uts46=True).decode("ascii")
    domain = DOTLESS_PROVIDERS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def mailbox(address: str) -> str:
    """One key per mailbox: `email_key` without taking a look-alike letter for another.
    `Bot+7@Example.org` is `bot@example.org`'s mailbox, `bоt@example.org` (Cyrillic о) is
    not: what may hand over someone's bookings compares these."""
    return email_key(address, folded=lambda text: unicodedata.normalize("NFC", text).casefold())


def deliverable_email(address: str) -> str:
    """The address as stored, or BadRequest when no mail could ever reach it: invalid
    syntax, a domain IDNA refuses, or a top-level domain that cannot exist (one letter,
    all digits). Internationalised addresses are accepted: they are sent with SMTPUTF8."""
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadRequest(f"This email address is not valid: {exc}", code="email_invalid") from exc
    top = checked.ascii_domain.rsplit(".", 1)[-1]
    if not (top.startswith("xn--") or (len(top) >= 2 and top.isalpha())):
        raise BadRequest(
            "No mail can be delivered to this email address: its domain does not exist.",
            code="email_undeliverable",
        )
    return checked.normalized.lower()


def phone_number(phone: str) -> phonenumbers.PhoneNumber:
    """The number, read as French (mainland or overseas) unless it starts with +."""
    for region in FRENCH_REGIONS:
        try:
            parsed = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException as exc:
            raise BadRequest("This phone number is not valid.", code="phone_invalid") from exc
        if phonenumbers.is_valid_number(parsed):
            return parsed
        if phone.lstrip().startswith("+"):
            break
    raise BadRequest("This phone number is not valid.", code="phone_invalid")


def e164(phone: str) -> str:
    """The number in E.164 form, which is its key too; French (mainland or overseas)
    numbers by default."""
    return phonenumbers.format_number(phone_number(phone), phonenumbers.PhoneNumberFormat.E164)


def is_mobile(phone: str) -> bool:
    """Whether the number can take a text: a mobile, in France, overseas or elsewhere."""
    try:
        parsed = phone_number(phone)
    except BadRequest:
        return False
    kind = phonenumbers.number_type(parsed)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE:
        return parsed.country_code in ONE_PLAN_COUNTRY_CODES
    return kind in MOBILE_TYPES


def texting_number(phone: str, *, otherwise: str = "") -> str:
    """The number in E.164 form, or BadRequest when it cannot take a text; `otherwise`,
    what else the person may choose, ends its detail."""
    number = e164(phone)
    if not is_mobile(number):
        instead = f", or {otherwise}" if otherwise else ""
        raise BadRequest(
            f"Text messages go to mobile numbers only: give a mobile number{instead}.",
            code="phone_not_mobile",
        )
    return number


def masked_email(address: str) -> str:
    """The address as shown to whoever holds the private link: its first letter and its
    domain, `m…@exemple.fr`."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}" if local else address


def masked_phone(phone: str) -> str:
    """The number as shown to whoever holds the private link: its first two and last two
    digits, `06 •• •• •• 12` (a number from abroad keeps its country code)."""
    try:
        parsed = phone_number(phone)
    except BadRequest:
        return "•• " + phone[-2:]
    if phonenumbers.region_code_for_number(parsed) in FRENCH_REGIONS:
        written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = [index for index, char in enumerate(written) if char.isdigit()]
    keep = set(digits[:2] + digits[-2:])
    if written.startswith("+"):
        country = len(str(parsed.country_code))
        keep = set(digits[: country + 1] + digits[-2:])
    return "".join(
        char if index in keep or not char.isdigit() else "•" for index, char in enumerate(written)
    )
