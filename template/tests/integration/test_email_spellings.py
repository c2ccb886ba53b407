"""Every address a user can register logs in with the same string, and no other
spelling of it makes a second account: hypothesis drives sign-up and login."""

import uuid

from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..email_spellings import LOCAL_PART, SPELLINGS, full_width
from ..helpers import PASSWORD, login

USERS = "/api/v1/users"
DOMAINS = ["example.com", "bücher.example", "xn--mnchen-3ya.example", full_width("EXAMPLE.org")]


# One client for every example (the test's transaction): each address is made unique.
# Hashing makes an example cost about 0.1 s, hence the count.
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    local=LOCAL_PART,
    domain=st.sampled_from(DOMAINS),
    spelling=st.sampled_from(sorted(SPELLINGS)),
)
async def test_a_registered_address_logs_in_as_typed_and_no_spelling_registers_again(
    client: AsyncClient, local: str, domain: str, spelling: str
) -> None:
    typed = f"{local}.{uuid.uuid4().hex[:6]}@{domain}"
    registered = await client.post(USERS, json={"email": typed, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    assert (await login(client, typed)).status_code == 200
    stored = registered.json()["email"]
    assert (await login(client, stored)).status_code == 200
    again = await client.post(
        USERS, json={"email": SPELLINGS[spelling](typed), "password": PASSWORD}
    )
    assert again.status_code == 409, again.text
