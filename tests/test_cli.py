import pytest

from webapp.models import Partner, ProtectedDomain, User


@pytest.fixture
def cli(app, database):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def test_create_partner_and_users(cli):
    assert cli("create-partner", "Acme MSP", "--domain-licenses", "25").exit_code == 0
    result = cli(
        "create-user",
        "Boss@Acme.test",
        "--partner",
        "Acme MSP",
        "--password-stdin",
        "--admin",
        input="s3cret-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created partner admin boss@acme.test." in result.output
    user = User.get(User.email == "boss@acme.test")
    assert user.role == "admin" and not user.integration_access
    assert User.authenticate("boss@acme.test", "s3cret-password") == user
    assert "s3cret-password" not in user.password_hash
    assert cli("grant-integration-access", "BOSS@acme.test").exit_code == 0
    assert User.get_by_id(user.id).integration_access
    assert Partner.get(Partner.name == "Acme MSP").domain_licenses == 25


@pytest.mark.parametrize(
    "args, message",
    [
        (("create-partner", "Acme MSP", "--domain-licenses", "-1"), "cannot be negative"),
        (("create-partner", "Existing", "--domain-licenses", "3"), "already exists"),
        (("create-partner", "  ", "--domain-licenses", "3"), "1 to 200 characters"),
        (("create-partner", "X", "--domain-licenses", "many"), "is not a valid integer"),
    ],
)
def test_create_partner_bad_input_changes_nothing(cli, args, message):
    Partner.create(name="Existing", domain_licenses=1)
    result = cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert [p.name for p in Partner.select()] == ["Existing"]


@pytest.mark.parametrize(
    "args, password, message",
    [
        (
            ("nobody@x.test", "--partner", "Ghost MSP"),
            "long-enough-pw",
            "No partner named 'Ghost MSP'",
        ),
        (("taken@x.test", "--partner", "Existing"), "long-enough-pw", "already exists"),
        (("not-an-email", "--partner", "Existing"), "long-enough-pw", "not a valid email"),
        (("short@x.test", "--partner", "Existing"), "short", "at least 8 characters"),
        (("orphan@x.test",), "long-enough-pw", "--partner is required"),
        (
            ("ops@x.test", "--support", "--partner", "Existing"),
            "long-enough-pw",
            "Support staff have no partner",
        ),
    ],
)
def test_create_user_bad_input_changes_nothing(cli, args, password, message):
    Partner.create(name="Existing", domain_licenses=1)
    cli(
        "create-user",
        "taken@x.test",
        "--partner",
        "Existing",
        "--password-stdin",
        input="first-password\n",
    )
    result = cli("create-user", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert [u.email for u in User.select()] == ["taken@x.test"]


def test_support_user_has_no_partner(cli):
    result = cli(
        "create-user", "ops@portal.test", "--support", "--password-stdin", input="ops-password\n"
    )
    assert result.exit_code == 0, result.output
    assert User.get(User.email == "ops@portal.test").partner is None


def test_grant_integration_access_to_unknown_user_fails(cli):
    result = cli("grant-integration-access", "ghost@x.test")
    assert result.exit_code != 0 and "No partner user with email ghost@x.test" in result.output


def test_protected_domains_add_remove_list(cli):
    ProtectedDomain.delete().execute()
    assert (
        cli(
            "protected-domains", "add", "Example-Mail.COM.", "https://www.webmail.example/x"
        ).exit_code
        == 0
    )
    assert cli("protected-domains", "list").output.split() == [
        "example-mail.com",
        "webmail.example",
    ]
    assert cli("protected-domains", "add", "example-mail.com").exit_code == 0  # already there: fine
    bad = cli("protected-domains", "add", "ok.example", "not a domain")
    assert bad.exit_code != 0 and "'not a domain' is not a valid domain name" in bad.output
    missing = cli("protected-domains", "remove", "example-mail.com", "absent.example")
    assert missing.exit_code != 0 and "Not on the list: absent.example" in missing.output
    assert ProtectedDomain.names() == {"example-mail.com", "webmail.example"}
    assert cli("protected-domains", "remove", "EXAMPLE-MAIL.com").exit_code == 0
    assert ProtectedDomain.names() == {"webmail.example"}


def test_init_db_seeds_protected_domains_once(cli):
    ProtectedDomain.delete().execute()
    assert cli("init-db").exit_code == 0
    seeded = ProtectedDomain.names()
    assert {"gmail.com", "outlook.com"} <= seeded
    cli("protected-domains", "remove", "gmail.com")
    assert cli("init-db").exit_code == 0
    assert "gmail.com" not in ProtectedDomain.names()


def test_rotate_encryption_key_re_encrypts_and_old_key_can_go(app, cli, partner):
    from webapp.crypto import Keyring, generate_master_key
    from webapp.models import Integration

    old = app.config["ENCRYPTION_KEY"]
    token = app.extensions["keyring"].encrypt("ITG.secret-value-1234", partner_id=partner.id)
    Integration.create(partner=partner, region="us", encrypted_key=token, key_hint="1234")
    new = generate_master_key()
    app.extensions["keyring"] = Keyring.parse(f"{new},{old}")
    first = cli("rotate-encryption-key")
    assert first.exit_code == 0 and "Re-encrypted 1 API keys" in first.output
    assert "Re-encrypted 0 API keys" in cli("rotate-encryption-key").output  # safe to re-run
    only_new = Keyring.parse(new)
    stored = Integration.get().encrypted_key
    assert only_new.decrypt(stored, partner_id=partner.id) == "ITG.secret-value-1234"


def test_rotate_encryption_key_reports_unreadable_keys(app, cli, partner):
    from webapp.crypto import Keyring, generate_master_key
    from webapp.models import Integration

    token = Keyring.parse(generate_master_key()).encrypt("ITG.lost", partner_id=partner.id)
    Integration.create(partner=partner, region="us", encrypted_key=token, key_hint="lost")
    result = cli("rotate-encryption-key")
    assert result.exit_code != 0 and "1 stored keys could not be decrypted" in result.output
    assert Integration.get().encrypted_key == token
