import base64

import pytest

from webapp.crypto import DecryptError, Keyring, generate_master_key

CANARY = "ITG.canary-3f1c0e0c9b7e4d6a"


def _key_material(value):
    """The base64 parts of an ENCRYPTION_KEY value, which no message may contain."""
    return [entry.partition(":")[2] for entry in value.split(",")]


def _flip(token, index):
    """Flip one byte of the nonce-plus-ciphertext inside a token."""
    version, kid, encoded = token.split(".")
    blob = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    blob[index] ^= 0x01
    return f"{version}.{kid}." + base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()


def test_round_trip():
    ring = Keyring.parse(generate_master_key())
    assert ring.decrypt(ring.encrypt(CANARY, partner_id=7), partner_id=7) == CANARY


def test_round_trip_of_non_ascii_and_empty_text():
    ring = Keyring.parse(generate_master_key())
    for text in ("", "clé-ключ-鍵"):
        assert ring.decrypt(ring.encrypt(text, partner_id=1), partner_id=1) == text


def test_token_shape_names_version_and_primary_kid():
    value = generate_master_key()
    ring = Keyring.parse(value)
    version, kid, _ = ring.encrypt(CANARY, partner_id=1).split(".")
    assert version == "v1"
    assert kid == value.partition(":")[0] == ring.primary_kid


def test_same_plaintext_twice_gives_different_tokens():
    ring = Keyring.parse(generate_master_key())
    assert ring.encrypt(CANARY, partner_id=1) != ring.encrypt(CANARY, partner_id=1)


def test_token_does_not_contain_the_plaintext():
    ring = Keyring.parse(generate_master_key())
    token = ring.encrypt(CANARY, partner_id=1)
    _, _, encoded = token.split(".")
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert CANARY not in token
    assert "canary" not in token
    assert CANARY.encode() not in raw


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1])
def test_flipped_byte_is_refused(index):
    ring = Keyring.parse(generate_master_key())
    token = _flip(ring.encrypt(CANARY, partner_id=1), index)
    with pytest.raises(DecryptError) as caught:
        ring.decrypt(token, partner_id=1)
    assert CANARY not in str(caught.value)


def test_token_copied_to_another_partner_is_refused():
    ring = Keyring.parse(generate_master_key())
    token = ring.encrypt(CANARY, partner_id=1)
    with pytest.raises(DecryptError) as caught:
        ring.decrypt(token, partner_id=2)
    assert CANARY not in str(caught.value)


def test_partner_id_must_be_an_int():
    ring = Keyring.parse(generate_master_key())
    for wrong in (None, "1", True):
        with pytest.raises(TypeError):
            ring.encrypt(CANARY, partner_id=wrong)


def test_unknown_kid_is_refused():
    token = Keyring.parse(generate_master_key()).encrypt(CANARY, partner_id=1)
    with pytest.raises(DecryptError, match="not in ENCRYPTION_KEY"):
        Keyring.parse(generate_master_key()).decrypt(token, partner_id=1)


def test_other_key_under_the_same_kid_is_refused():
    token = Keyring.parse("k1:" + generate_master_key().partition(":")[2]).encrypt(
        CANARY, partner_id=1
    )
    ring = Keyring.parse("k1:" + generate_master_key().partition(":")[2])
    with pytest.raises(DecryptError):
        ring.decrypt(token, partner_id=1)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v1.k1",
        "v2.{kid}.{body}",
        "v1.{kid}.{body}.extra",
        "v1.{kid}.",
        "v1.{kid}.AAAA",
        "v1.{kid}.!!!!",
        "v1.{kid}.{body}=x",
        "v1.bad kid.{body}",
        "v1.{kid}.{body}\n",
    ],
)
def test_malformed_token_is_refused(token):
    ring = Keyring.parse(generate_master_key())
    _, kid, body = ring.encrypt(CANARY, partner_id=1).split(".")
    with pytest.raises(DecryptError):
        ring.decrypt(token.format(kid=kid, body=body), partner_id=1)


def test_non_canonical_base64_is_refused():
    ring = Keyring.parse(generate_master_key())
    token = ring.encrypt("x", partner_id=1)
    # 12 + 1 + 16 = 29 bytes end with one byte in a 4-character group: the last character's two
    # low bits are unused, so changing them must not yield a second valid spelling of the token.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(DecryptError):
        ring.decrypt(token[:-1] + twin, partner_id=1)


def test_old_tokens_decrypt_after_a_new_primary_is_added():
    old = generate_master_key()
    token = Keyring.parse(old).encrypt(CANARY, partner_id=3)
    new = generate_master_key()
    ring = Keyring.parse(f"{new},{old}")
    assert ring.primary_kid == new.partition(":")[0]
    assert ring.decrypt(token, partner_id=3) == CANARY


def test_rotate_then_drop_the_old_key_still_decrypts():
    old, new = generate_master_key(), generate_master_key()
    token = Keyring.parse(old).encrypt(CANARY, partner_id=3)
    rotated = Keyring.parse(f"{new},{old}").rotate(token, partner_id=3)
    assert rotated.split(".")[1] == new.partition(":")[0]
    assert Keyring.parse(new).decrypt(rotated, partner_id=3) == CANARY
    with pytest.raises(DecryptError):
        Keyring.parse(new).decrypt(token, partner_id=3)


def test_rotate_keeps_a_primary_token_unchanged():
    ring = Keyring.parse(generate_master_key())
    token = ring.encrypt(CANARY, partner_id=3)
    assert ring.rotate(token, partner_id=3) == token


def test_rotate_refuses_a_tampered_or_foreign_token():
    ring = Keyring.parse(generate_master_key())
    token = ring.encrypt(CANARY, partner_id=3)
    with pytest.raises(DecryptError):
        ring.rotate(_flip(token, 15), partner_id=3)
    with pytest.raises(DecryptError):
        ring.rotate(token, partner_id=4)


def test_generated_key_is_a_fresh_32_byte_entry():
    value = generate_master_key()
    kid, _, encoded = value.partition(":")
    assert len(kid) == 8 and int(kid, 16) >= 0
    assert len(base64.urlsafe_b64decode(encoded + "=")) == 32
    assert generate_master_key() != value


def test_parse_accepts_padding_and_spaces_around_entries():
    first, second = generate_master_key(), generate_master_key()
    ring = Keyring.parse(f" {first}= , {second} ")
    assert ring.kids == (first.partition(":")[0], second.partition(":")[0])


def test_repr_shows_no_key_material():
    value = generate_master_key()
    assert _key_material(value)[0] not in repr(Keyring.parse(value))


def _short_key():
    return "k1:" + base64.urlsafe_b64encode(b"\x07" * 16).decode()


def _bad_base64():
    return "k1:" + generate_master_key().partition(":")[2][:-2] + "*!"


def _duplicate_kid():
    material = generate_master_key().partition(":")[2]
    other = generate_master_key().partition(":")[2]
    return f"same:{material},same:{other}"


def _no_colon():
    return generate_master_key().partition(":")[2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: "", "empty"),
        (lambda: "   ", "empty"),
        (_bad_base64, "base64url"),
        (_short_key, "32 bytes"),
        (_duplicate_kid, "repeats the key id"),
        (_no_colon, "kid:base64url-key"),
        (lambda: generate_master_key() + ",", "entry 2"),
        (lambda: "bad kid:" + generate_master_key().partition(":")[2], "invalid key id"),
    ],
)
def test_parse_errors_are_clear_and_do_not_echo_the_key(make, message):
    value = make()
    with pytest.raises(ValueError, match=message) as caught:
        Keyring.parse(value)
    for material in _key_material(value) + [value]:
        if material.strip():
            assert material not in str(caught.value)
