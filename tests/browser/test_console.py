"""The console's six flows (issue #6), clicked through in Chromium against a real server.
Every wait is one of Playwright's auto-waiting `expect` assertions or a polled condition."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ConsoleServer, Receiver
from tests.integration.helpers import wait_for

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
Page = sync_api.Page
expect = sync_api.expect
# Shared CI machines are slow at times: auto-waiting assertions wait up to 15 s.
expect.set_options(timeout=15_000)


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((el) => el.offsetParent !== null || el.getClientRects().length)
  .filter((el) => {
    const named = el.getAttribute('aria-label') || (el.labels && el.labels.length)
      || ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim());
    return !named;
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


def shot(page: Page, screenshots: Path, name: str) -> None:
    """A screenshot of the page, once every visible control has an accessible name."""
    assert page.evaluate(UNLABELLED) == []
    page.evaluate("document.getElementById('toast').replaceChildren()")
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def new_app(api: httpx.Client, name: str, channels: list[str]) -> str:
    credentials = [
        {"channel": c, "static_token": {"token": "t"}}
        if c in ("MESSENGER", "VIBER")
        else {
            "channel": c,
            "static_bearer": {"claimed_identity": f"{c.lower()}-{name}", "token": "t"},
        }
        for c in channels
    ]
    response = api.post("/apps", json={"display_name": name, "channel_credentials": credentials})
    response.raise_for_status()
    return response.json()["id"]


def send_text(api: httpx.Client, app_id: str, identities: list[tuple[str, str]], text: str) -> str:
    response = api.post(
        "/messages:send",
        json={
            "app_id": app_id,
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": c, "identity": i} for c, i in identities]
                }
            },
            "message": {"text_message": {"text": text}},
        },
    )
    response.raise_for_status()
    return response.json()["message_id"]


def sim(server: ConsoleServer, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = httpx.request(method, f"{server.url}/simulator/v1{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def unique_number() -> str:
    return f"4670{uuid.uuid4().int % 10**7:07d}"


def test_flow1_local_mode_signs_in_and_an_access_key_signs_in(
    page: Page, console_server: ConsoleServer, screenshots: Path
) -> None:
    creds = console_server.credentials
    printed = console_server.printed_console_url()  # what `chorus serve` printed
    assert printed == f"{console_server.url}/console/"
    page.goto(printed)  # signed in locally
    expect(page).to_have_url(re.compile(r"/console/#/apps$"))
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    expect(page.locator("#session")).to_contain_text(f"Project {creds.project_id} (local)")
    expect(page.locator("#live")).to_have_text("live")
    page.goto("/")  # the bare address leads there too
    expect(page).to_have_url(re.compile(r"/console/#/apps$"))

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Key ID").fill(creds.key_id)
    page.get_by_label("Key secret").fill("wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")

    page.get_by_label("Key secret").fill(creds.key_secret)
    shot(page, screenshots, "signin")
    page.get_by_label("Key secret").press("Enter")  # the keyboard submits the form
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    expect(page.locator("#session")).to_have_text(
        re.compile(f"Project {creds.project_id}(?! \\(local)")
    )
    expect(page.locator("#live")).to_have_text("live")


def test_flow2_create_app_credentials_priority_and_webhook(
    page: Page, console_server: ConsoleServer, receiver: Receiver, screenshots: Path
) -> None:
    page.goto("/console/#/apps")
    page.get_by_label("Display name").fill("Shop")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("heading", name="Shop")).to_be_visible()
    app_id = page.url.rsplit("/", 1)[1]

    for channel, known in (("SMS", "plan-shop"), ("WhatsApp", "1555000"), ("RCS", "shop-agent")):
        page.get_by_label("Channel", exact=True).select_option(label=channel)
        page.locator("input[name=claimed_identity]").fill(known)
        page.get_by_label("Token").fill(f"token-{known}")
        page.get_by_role("button", name="Add credentials").click()
        expect(page.get_by_label("Channel priority").locator("li").last).to_contain_text(channel)

    priority = page.get_by_label("Channel priority").locator("li")
    expect(priority).to_have_count(3)
    priority.nth(2).drag_to(priority.nth(0))  # RCS to the top
    expect(priority.nth(0)).to_contain_text("RCS")
    page.get_by_role("button", name="Move SMS down").focus()
    page.keyboard.press("Enter")  # the keyboard alternative to dragging
    expect(priority.nth(1)).to_contain_text("WhatsApp")
    expect(priority.nth(2)).to_contain_text("SMS")
    expect(page.get_by_role("button", name="Move SMS up")).to_be_focused()  # focus stays

    page.get_by_label("Target URL").fill(receiver.url)
    page.get_by_label("Secret", exact=True).fill("webhook-secret")
    page.get_by_label("CONVERSATION_START").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("cell", name=receiver.url, exact=True)).to_be_visible()
    shot(page, screenshots, "app")

    with console_server.api() as api:
        app = api.get(f"/apps/{app_id}").json()
        assert [c["channel"] for c in app["channel_credentials"]] == ["RCS", "WHATSAPP", "SMS"]
        assert app["channel_credentials"][0]["static_bearer"]["claimed_identity"] == "shop-agent"
        (webhook,) = api.get(f"/apps/{app_id}/webhooks").json()["webhooks"]
        assert webhook["target"] == receiver.url
        assert webhook["secret"] == "webhook-secret"
        assert set(webhook["triggers"]) == {
            "MESSAGE_DELIVERY",
            "MESSAGE_INBOUND",
            "CONVERSATION_START",
        }

    page.goto("/console/#/apps")
    expect(page.get_by_role("row", name=re.compile("Shop"))).to_contain_text("RCS → WHATSAPP → SMS")
    shot(page, screenshots, "apps")


def test_flow2_apps_and_an_app_are_live_while_forms_keep_their_input(
    page: Page, console_server: ConsoleServer, receiver: Receiver
) -> None:
    """Another client (a second tab, an API script) creates an app, gives it credentials and
    a webhook: the open pages show each change without a reload, and what is being typed
    in a form stays."""
    page.goto("/console/#/apps")
    expect(page.locator("#live")).to_have_text("live")
    with console_server.api() as api:
        app_id = new_app(api, "Elsewhere", [])
        expect(page.get_by_role("row", name=re.compile("Elsewhere"))).to_be_visible()

        page.get_by_role("link", name="Elsewhere").click()
        expect(page.get_by_role("heading", name="Elsewhere")).to_be_visible()
        expect(page.locator("#live")).to_have_text("live")
        page.get_by_label("Target URL").fill("https://half.example/typed")
        api.patch(
            f"/apps/{app_id}",
            json={
                "channel_credentials": [
                    {
                        "channel": "SMS",
                        "static_bearer": {"claimed_identity": "plan-elsewhere", "token": "t"},
                    }
                ]
            },
        ).raise_for_status()
        expect(page.get_by_label("Channel priority").locator("li")).to_contain_text(["SMS"])
        api.post(
            "/webhooks",
            json={"app_id": app_id, "target": receiver.url, "triggers": ["MESSAGE_INBOUND"]},
        ).raise_for_status()
        expect(page.get_by_role("cell", name=receiver.url, exact=True)).to_be_visible()
        expect(page.get_by_label("Target URL")).to_have_value("https://half.example/typed")

        api.delete(f"/apps/{app_id}").raise_for_status()
    page.goto("/console/#/apps")
    expect(page.get_by_role("row", name=re.compile("Elsewhere"))).to_have_count(0)


def test_flow3_contacts_search_and_conversation_timeline(
    page: Page, console_server: ConsoleServer, screenshots: Path
) -> None:
    number = unique_number()
    with console_server.api() as api:
        app_id = new_app(api, "Timeline", ["SMS", "WHATSAPP"])
        # WhatsApp refuses (no open session window), so the message falls back to SMS.
        message_id = send_text(api, app_id, [("WHATSAPP", number), ("SMS", number)], "Your order")
        wait_for(
            lambda: (
                (api.get(f"/messages/{message_id}").json().get("channel_identity") or {}).get(
                    "channel"
                )
                == "SMS"
            ),
            what="the fallback to SMS",
        )
    sim(
        console_server,
        "POST",
        f"/handsets/sms/{number}/messages",
        {"app_id": app_id, "text_message": {"text": "Thanks!"}},
    )

    page.goto("/console/#/contacts")
    page.get_by_label("Search contacts").fill(number)
    contact = page.get_by_role("button", name=re.compile(number))
    expect(contact).to_have_count(1)
    contact.click()
    page.get_by_role("link", name=re.compile("^Conversation ")).click()
    contact_id = page.get_by_role("link", name="← Contact").get_attribute("href").rsplit("=", 1)[1]
    expect(page.get_by_role("heading", name="Conversation")).to_be_visible()

    timeline = page.get_by_label("Timeline")
    sent = timeline.locator("li.entry.app").filter(has_text="Your order")
    expect(sent).to_contain_text("SMS")
    history = sent.get_by_label("Status history")
    expect(history).to_contain_text("QUEUED")
    expect(history).to_contain_text("SWITCHING_CHANNEL on WHATSAPP")
    expect(history).to_contain_text("OUTSIDE_ALLOWED_SENDING_WINDOW")
    expect(history).to_contain_text("DELIVERED on SMS")
    reply = timeline.locator("li.entry.contact").filter(has_text="Thanks!")
    expect(reply).to_contain_text("SMS")

    # Events too: a typing indicator, which SMS cannot carry.
    with console_server.api() as api:
        api.post(
            "/events:send",
            json={
                "app_id": app_id,
                "recipient": {"contact_id": contact_id},
                "event": {"composing_event": {}},
            },
        ).raise_for_status()
    event = timeline.locator("li.entry.event").filter(has_text="composing_event")
    event_history = event.get_by_role("list", name="Status history")
    expect(event_history).to_contain_text("QUEUED")
    expect(event_history).to_contain_text("FAILED on")
    expect(event_history).to_contain_text("UNSUPPORTED_OPERATION")
    expect(reply).to_contain_text("SMS")
    reply.get_by_text("Details").click()
    expect(reply).to_contain_text("Metadata")

    # Live, without a reload: the contact writes on WhatsApp (opening its session window),
    # and the app's answer goes there, on to READ.
    sim(
        console_server,
        "POST",
        f"/handsets/whatsapp/{number}/messages",
        {"app_id": app_id, "text_message": {"text": "Any news?"}},
    )
    expect(timeline.locator("li.entry.contact").filter(has_text="Any news?")).to_contain_text(
        "WHATSAPP"
    )
    with console_server.api() as api:
        send_text(api, app_id, [("WHATSAPP", number)], "Shipped today")
    shipped = timeline.locator("li.entry.app").filter(has_text="Shipped today")
    expect(shipped.get_by_label("Status history")).to_contain_text("DELIVERED on WHATSAPP")
    expect(shipped.get_by_label("Status history")).to_contain_text("READ on WHATSAPP")
    shot(page, screenshots, "conversation")
    page.goto(f"/console/#/contacts?q={number}")
    page.get_by_role("button", name=re.compile(number)).click()
    expect(page.get_by_role("link", name=re.compile("^Conversation "))).to_be_visible()
    shot(page, screenshots, "contacts")


def test_flow3_a_long_timeline_shows_older_entries_on_request(
    page: Page, console_server: ConsoleServer
) -> None:
    number = unique_number()
    with console_server.api() as api:
        app_id = new_app(api, "Long", ["SMS"])
        contact = api.post(
            "/contacts",
            json={"channel_identities": [{"channel": "SMS", "identity": number}]},
        )
        contact.raise_for_status()
        contact_id = contact.json()["id"]
        conversation = api.post("/conversations", json={"app_id": app_id, "contact_id": contact_id})
        conversation.raise_for_status()
        conversation_id = conversation.json()["id"]
        start = datetime.now(UTC) - timedelta(days=1)  # injected history: the last 30 days
        for index in range(101):
            api.post(
                f"/conversations/{conversation_id}:inject-message",
                json={
                    "app_message": {"text_message": {"text": f"Note {index:03d}"}},
                    "direction": "TO_CONTACT",
                    "accept_time": (start + timedelta(seconds=index)).isoformat(),
                    "channel_identity": {"channel": "SMS", "identity": number},
                    "contact_id": contact_id,
                },
            ).raise_for_status()

    page.goto(f"/console/#/conversations/{conversation_id}")
    entries = page.get_by_label("Timeline").locator("li.entry")
    expect(entries).to_have_count(100)
    expect(entries.first).to_contain_text("Note 001")  # the newest 100, oldest first
    expect(entries.last).to_contain_text("Note 100")
    page.get_by_role("button", name="Show older entries").click()
    expect(entries).to_have_count(101)
    expect(entries.first).to_contain_text("Note 000")
    expect(page.get_by_role("button", name="Show older entries")).to_be_hidden()


def test_flow4_compose_previews_every_channel_then_sends(
    page: Page, console_server: ConsoleServer, screenshots: Path
) -> None:
    number = unique_number()
    with console_server.api() as api:
        app_id = new_app(api, "Composer", ["SMS", "WHATSAPP", "RCS", "MESSENGER", "VIBERBM"])
        choice = {
            "choice_message": {
                "text_message": {"text": "Pick one"},
                "choices": [{"text_message": {"text": "Yes"}}, {"text_message": {"text": "No"}}],
            }
        }
        expected_sms = api.post(
            "/messages:transcode",
            json={"app_id": app_id, "app_message": choice, "channels": ["SMS"]},
        ).json()["transcoded_message"]["SMS"]

    page.goto(f"/console/#/compose?app={app_id}")
    expect(page.get_by_role("heading", name="Compose")).to_be_visible()
    previews = {
        name: page.get_by_role("region", name=f"{name} preview")
        for name in ("SMS", "WhatsApp", "RCS", "Messenger", "Viber Business", "Viber Bot")
    }
    expect(previews["SMS"].locator(".bubble")).to_have_text("Hello from chorus!")

    # A card: a rich card on RCS, a generic template on Messenger, an image on WhatsApp.
    page.get_by_label("Message type").select_option("card")
    page.get_by_label("Title").fill("Red shoe")
    page.get_by_label("Description").fill("Size 42")
    page.get_by_label("Choices, one a line").fill("Buy\nWebsite | https://example.com")
    page.get_by_label("Choices, one a line").blur()
    expect(previews["RCS"].locator(".card-preview")).to_contain_text("Red shoe")
    expect(previews["RCS"].locator(".card-preview .button")).to_have_text(["Buy", "Website"])
    expect(previews["Messenger"].locator(".card-preview")).to_contain_text("Size 42")
    expect(previews["WhatsApp"].locator("figure.media")).to_contain_text("image.jpg")
    expect(previews["Viber Bot"].locator(".rich-media")).to_contain_text("Red shoe")
    expect(previews["SMS"].locator(".bubble")).to_contain_text("1. Buy")
    shot(page, screenshots, "compose")

    page.get_by_label("Message type").select_option("carousel")
    expect(previews["RCS"].locator(".carousel .card-preview")).to_have_count(2)
    # A channel that cannot carry the message says why, beside the others.
    expect(previews["Messenger"].locator(".error")).to_contain_text("cannot be sent on Messenger")
    page.get_by_label("Choices, one a line").fill("Buy")
    page.get_by_label("Choices, one a line").blur()
    expect(previews["Messenger"].locator(".carousel .card-preview")).to_have_count(2)

    page.get_by_label("Message type").select_option("location")
    expect(previews["WhatsApp"].locator(".map")).to_be_visible()
    expect(previews["RCS"].locator(".chip")).to_have_text("View location")

    # Any message as JSON: the same transcoder as messages:transcode draws it.
    page.get_by_label("Generic message (JSON)").fill(json.dumps(choice))
    page.get_by_role("button", name="Preview").click()
    expect(previews["SMS"].locator(".bubble")).to_have_text(expected_sms)
    expect(previews["RCS"].locator(".chip")).to_have_text(["Yes", "No"])
    expect(previews["Messenger"].locator(".chip")).to_have_text(["Yes", "No"])
    expect(previews["WhatsApp"].locator(".wa-buttons .button")).to_have_text(["Yes", "No"])
    expect(previews["Viber Bot"].locator(".keyboard .button")).to_have_text(["Yes", "No"])

    page.get_by_label("Identity").fill(number)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").filter(has_text="Sent: message")).to_be_visible()
    handset = wait_for(
        lambda: (
            httpx.get(f"{console_server.url}/simulator/v1/handsets/sms/{number}").json()
            if httpx.get(f"{console_server.url}/simulator/v1/handsets/sms/{number}").status_code
            == 200
            else None
        ),
        what="the SMS handset to receive the message",
    )
    assert handset["inbox"][0]["text"] == expected_sms


def test_flow5_delivery_log_is_live_and_a_callback_replays(
    page: Page, console_server: ConsoleServer, receiver: Receiver, screenshots: Path
) -> None:
    with console_server.api() as api:
        app_id = new_app(api, "Hooks", ["SMS"])
        webhook = api.post(
            "/webhooks",
            json={
                "app_id": app_id,
                "target": receiver.url,
                "secret": "s3cret",
                "triggers": ["MESSAGE_DELIVERY"],
            },
        ).json()
    page.goto(f"/console/#/webhooks/{webhook['id']}")
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()

    with console_server.api() as api:
        send_text(api, app_id, [("SMS", unique_number())], "Ping")
    rows = page.locator("tbody[data-delivery-id]")
    expect(rows).to_have_count(2)  # QUEUED_ON_CHANNEL and DELIVERED reports, live
    first = rows.last
    expect(first).to_contain_text("delivered")
    first.get_by_role("button", name="Attempts").click()
    attempts = first.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first.locator("td.code")).to_have_text("200")
    expect(attempts.first).to_contain_text(" ms")
    expect(attempts.first).to_contain_text("x-sinch-webhook-signature")
    expect(attempts.first).to_contain_text("x-chorus-event-id")
    expect(first).to_contain_text("MESSAGE_DELIVERY")  # the payload
    before = len(receiver.received)
    first.get_by_role("button", name="Replay").click()
    expect(first.locator("table.attempts tbody tr")).to_have_count(2)
    shot(page, screenshots, "webhooks")
    wait_for(lambda: len(receiver.received) > before, what="the replayed callback")
    replayed = receiver.received[-1]["headers"]
    event_ids = {r["headers"].get("x-chorus-event-id") for r in receiver.received}
    assert replayed["x-chorus-event-id"] in event_ids


def test_flow6_simulator_screens_replies_and_switches(
    page: Page, console_server: ConsoleServer, screenshots: Path
) -> None:
    number = unique_number()
    with console_server.api() as api:
        app_id = new_app(api, "Handsets", ["SMS", "WHATSAPP"])
        send_text(api, app_id, [("SMS", number)], "Your code is 1234")
    page.goto("/console/#/simulator")
    handset = page.get_by_role("region", name=f"Handset SMS {number}")
    screen = handset.get_by_label(f"Screen of SMS {number}")
    expect(screen.locator("li.incoming")).to_contain_text("Your code is 1234")

    expect(handset.get_by_label("To app")).to_have_value(app_id)  # the app that wrote
    handset.get_by_label(f"Reply as {number}").fill("Got it")
    handset.get_by_role("button", name="Send reply").click()
    expect(screen.locator("li.outgoing")).to_contain_text("Got it")
    with console_server.api() as api:
        wait_for(
            lambda: any(
                (m.get("contact_message") or {}).get("text_message", {}).get("text") == "Got it"
                for m in api.get("/messages", params={"app_id": app_id}).json()["messages"]
            ),
            what="the handset's reply to reach the app",
        )

    handset.get_by_label("Reachable").uncheck()
    expect(page.locator("#toast")).to_contain_text("reachable updated")
    handset = page.get_by_role("region", name=f"Handset SMS {number}")
    expect(handset.get_by_label("Reachable")).not_to_be_checked()
    handset.get_by_label("Auto-read").uncheck()
    expect(
        page.get_by_role("region", name=f"Handset SMS {number}").get_by_label("Auto-read")
    ).not_to_be_checked()
    handset = page.get_by_role("region", name=f"Handset SMS {number}")
    handset.get_by_label("Fail next with code").fill("406")
    handset.get_by_role("button", name="Set").click()
    expect(
        page.get_by_role("region", name=f"Handset SMS {number}").get_by_label("Fail next with code")
    ).to_have_value("406")
    page.get_by_role("region", name=f"Handset SMS {number}").get_by_label(
        "Capability"
    ).select_option("NO_CAPABILITY")
    expect(
        page.get_by_role("region", name=f"Handset SMS {number}").get_by_label("Capability")
    ).to_have_value("NO_CAPABILITY")
    wanted = {
        "capability": "NO_CAPABILITY",
        "reachable": False,
        "auto_read": False,
        "fail_next": 406,
    }
    wait_for(
        lambda: (
            wanted.items()
            <= sim(console_server, "GET", f"/handsets/sms/{number}")["settings"].items()
        ),
        what="the handset's switches to be saved",
    )

    # Live: what the app sends appears on the handset's screen without a reload.
    sim(console_server, "PATCH", f"/handsets/sms/{number}", {"reachable": True, "fail_next": None})
    with console_server.api() as api:
        send_text(api, app_id, [("SMS", number)], "Second message")
    screen = page.get_by_role("region", name=f"Handset SMS {number}").get_by_label(
        f"Screen of SMS {number}"
    )
    expect(screen.locator("li.incoming").filter(has_text="Second message")).to_be_visible()

    # A WhatsApp handset: it writes first (opening the session window), then the app's
    # buttons appear on its screen the way WhatsApp draws them.
    page.get_by_label("Channel", exact=True).select_option(label="WhatsApp")
    page.get_by_label("Handset identity").fill(number)
    page.get_by_role("button", name="Add handset").click()
    whatsapp = page.get_by_role("region", name=f"Handset WhatsApp {number}")
    whatsapp.get_by_label("To app").select_option(app_id)
    whatsapp.get_by_label(f"Reply as {number}").fill("Hello shop")
    whatsapp.get_by_role("button", name="Send reply").click()
    wa_screen = page.get_by_label(f"Screen of WhatsApp {number}")
    expect(wa_screen.locator("li.outgoing")).to_contain_text("Hello shop")
    with console_server.api() as api:
        api.post(
            "/messages:send",
            json={
                "app_id": app_id,
                "recipient": {
                    "identified_by": {
                        "channel_identities": [{"channel": "WHATSAPP", "identity": number}]
                    }
                },
                "message": {
                    "choice_message": {
                        "text_message": {"text": "Track your order?"},
                        "choices": [
                            {"text_message": {"text": "Yes"}},
                            {"text_message": {"text": "No"}},
                        ],
                    }
                },
            },
        ).raise_for_status()
    expect(wa_screen.locator("li.incoming .wa-buttons .button")).to_have_text(["Yes", "No"])
    page.get_by_label("Show handsets of").select_option(label="WhatsApp")
    expect(page.locator("section.handset:not(.whatsapp)")).to_have_count(0)
    expect(page.get_by_role("region", name=f"Handset WhatsApp {number}")).to_be_visible()
    page.get_by_label("Show handsets of").select_option(label="All channels")
    expect(page.get_by_role("region", name=f"Handset SMS {number}")).to_be_visible()
    shot(page, screenshots, "simulator")


def test_flow6_the_subscribed_switch_tells_the_to_app(
    page: Page, console_server: ConsoleServer
) -> None:
    """A Viber Business handset's Subscribed switch is the user opting out / in: the
    simulator posts the channel's callback to the handset's selected "To app"."""
    number = unique_number()
    with console_server.api() as api:
        app_id = new_app(api, f"Optouts{uuid.uuid4().hex[:6]}", ["VIBERBM"])

        def listed() -> list[str]:
            response = api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL")
            response.raise_for_status()
            return [i["identity"] for i in response.json()["identities"]]

        sim(console_server, "PATCH", f"/handsets/viberbm/{number}", {})
        page.goto("/console/#/simulator")
        handset = page.get_by_role("region", name=f"Handset Viber Business {number}")
        handset.get_by_label("To app").select_option(app_id)
        handset.get_by_label("Subscribed").uncheck()
        expect(page.locator("#toast")).to_contain_text("subscribed updated")
        wait_for(lambda: listed() == [number], what="the opt-out on the app's consent list")
        handset = page.get_by_role("region", name=f"Handset Viber Business {number}")
        expect(handset.get_by_label("Subscribed")).not_to_be_checked()
        screen = handset.get_by_role("list", name=f"Screen of Viber Business {number}")
        expect(screen).to_contain_text("(unsubscribed from Optouts")
        expect(screen.locator("li").last).to_contain_text("· 200")  # chorus's answer, live
        handset.get_by_label("Subscribed").check()
        wait_for(lambda: listed() == [], what="the opt-in to clear the consent list")


# --- what an audit found --------------------------------------------------------------

FIRST = 200  # the contacts the console lists before "Load more"


@pytest.fixture(scope="module")
def many_contacts(console_server: ConsoleServer) -> None:
    """As many contacts as the console lists at first: any contact created afterwards (ids
    sort by creation time) is past them."""
    prefix = f"4672{uuid.uuid4().int % 1000:03d}"
    with console_server.api() as api:
        for index in range(FIRST):
            identity = {"channel": "SMS", "identity": f"{prefix}{index:04d}"}
            api.post(
                "/contacts",
                json={"display_name": f"Filler {index}", "channel_identities": [identity]},
            ).raise_for_status()


def new_contact(api: httpx.Client, name: str, number: str) -> str:
    response = api.post(
        "/contacts",
        json={"display_name": name, "channel_identities": [{"channel": "SMS", "identity": number}]},
    )
    response.raise_for_status()
    return response.json()["id"]


def test_compose_sends_to_the_linked_contact_even_past_the_first_contacts(
    page: Page, console_server: ConsoleServer, many_contacts: None
) -> None:
    with console_server.api() as api:
        app_id = new_app(api, "Far", ["SMS"])
        contact_id = new_contact(api, "Far away", unique_number())

    page.goto(f"/console/#/compose?app={app_id}&contact={contact_id}")
    expect(page.get_by_label("Contact", exact=True)).to_have_value(contact_id)
    page.get_by_role("button", name="Send").click()
    sent = page.get_by_role("status").filter(has_text="Sent: message")
    expect(sent).to_be_visible()
    message_id = sent.locator("code").text_content()
    with console_server.api() as api:
        assert api.get(f"/messages/{message_id}").json()["contact_id"] == contact_id

    # No contact chosen: nothing is sent (it used to go to the first one listed).
    page.goto(f"/console/#/compose?app={app_id}")
    page.get_by_label("Send to").select_option("contact")
    expect(page.get_by_label("Contact", exact=True)).to_have_value("")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").filter(has_text="Not sent")).to_have_text(
        "Not sent: choose a contact."
    )
    with console_server.api() as api:
        assert [
            m["id"] for m in api.get("/messages", params={"app_id": app_id}).json()["messages"]
        ] == [message_id]

    # A link to a contact that is not there says so, and chooses none.
    page.goto(f"/console/#/compose?app={app_id}&contact=01NOSUCHCONTACT0000000000")
    expect(page.get_by_role("alert")).to_contain_text("Contact 01NOSUCHCONTACT0000000000 not found")
    expect(page.get_by_label("Contact", exact=True)).to_have_value("")


def test_contacts_load_more_show_a_linked_contact_and_follow_changes(
    page: Page, console_server: ConsoleServer, many_contacts: None
) -> None:
    number = unique_number()
    with console_server.api() as api:
        contact_id = new_contact(api, "Past the first", number)

    page.goto(f"/console/#/contacts?contact={contact_id}")
    expect(page.get_by_role("region", name="Contact Past the first")).to_contain_text(contact_id)
    expect(page.get_by_text(f"Showing the first {FIRST} contacts.")).to_be_visible()

    page.get_by_label("Search contacts").fill(number)
    expect(page.get_by_text("No loaded contact matches.")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    contact = page.get_by_role("button", name=re.compile(number))
    expect(contact).to_have_count(1)
    expect(contact).to_have_attribute("aria-pressed", "true")

    # Live: a rename and a delete made elsewhere show without a reload.
    expect(page.locator("#live")).to_have_text("live")
    with console_server.api() as api:
        api.patch(f"/contacts/{contact_id}", json={"display_name": "Renamed"}).raise_for_status()
        expect(page.get_by_role("region", name="Contact Renamed")).to_be_visible()
        expect(contact).to_contain_text("Renamed")
        api.delete(f"/contacts/{contact_id}").raise_for_status()
    expect(page.get_by_role("alert")).to_have_text(f"Contact {contact_id} not found.")
    expect(contact).to_have_count(0)


def test_saving_credentials_of_a_channel_the_app_has_keeps_its_place(
    page: Page, console_server: ConsoleServer
) -> None:
    with console_server.api() as api:
        app_id = new_app(api, "Keeps", ["SMS", "WHATSAPP", "RCS"])
    page.goto(f"/console/#/apps/{app_id}")
    page.get_by_label("Channel", exact=True).select_option(label="SMS")
    page.locator("input[name=claimed_identity]").fill("plan-new")
    page.get_by_label("Token").fill("token-new")
    page.get_by_role("button", name="Add credentials").click()
    expect(page.locator("#toast")).to_contain_text("SMS credentials saved")
    expect(page.get_by_label("Channel priority").locator("li")).to_contain_text(
        ["SMS", "WhatsApp", "RCS"]
    )
    with console_server.api() as api:
        credentials = api.get(f"/apps/{app_id}").json()["channel_credentials"]
    assert [c["channel"] for c in credentials] == ["SMS", "WHATSAPP", "RCS"]
    assert credentials[0]["static_bearer"] == {"claimed_identity": "plan-new", "token": "token-new"}


def test_deleting_a_webhook_asks_first_and_says_when_it_fails(
    page: Page, console_server: ConsoleServer, receiver: Receiver
) -> None:
    with console_server.api() as api:
        app_id = new_app(api, "Deletes", ["SMS"])
        webhook_id = api.post(
            "/webhooks",
            json={"app_id": app_id, "target": receiver.url, "triggers": ["MESSAGE_INBOUND"]},
        ).json()["id"]
    page.goto(f"/console/#/apps/{app_id}")
    delete = page.get_by_role("button", name=f"Delete webhook {receiver.url}")
    asked: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Any) -> None:
            asked.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        page.once("dialog", handle)

    answer(accept=False)
    delete.click()
    wait_for(lambda: asked, what="the confirmation")
    assert receiver.url in asked[0]
    with console_server.api() as api:
        assert api.get(f"/webhooks/{webhook_id}").status_code == 200

    # The API refuses: the page says so (and throws nothing).
    def refuse(route: Any) -> None:
        if route.request.method == "DELETE":
            route.fulfill(
                status=500,
                json={"error": {"code": 500, "message": "Refused here", "status": "INTERNAL"}},
            )
        else:
            route.continue_()

    page.route(f"**/webhooks/{webhook_id}", refuse)
    answer(accept=True)
    delete.click()
    expect(page.locator("#toast")).to_have_text("Refused here")
    page.unroute(f"**/webhooks/{webhook_id}")

    answer(accept=True)
    page.get_by_role("button", name=f"Delete webhook {receiver.url}").click()
    expect(page.get_by_role("button", name=f"Delete webhook {receiver.url}")).to_have_count(0)
    with console_server.api() as api:
        assert api.get(f"/webhooks/{webhook_id}").status_code == 404


def test_an_unknown_webhook_is_not_found_rather_than_another_shown(
    page: Page, console_server: ConsoleServer, receiver: Receiver
) -> None:
    with console_server.api() as api:
        app_id = new_app(api, "Known", ["SMS"])
        api.post(
            "/webhooks",
            json={"app_id": app_id, "target": receiver.url, "triggers": ["MESSAGE_INBOUND"]},
        ).raise_for_status()
    page.goto("/console/#/webhooks/no-such-webhook")
    expect(page.get_by_role("alert")).to_have_text(
        "Webhook no-such-webhook not found: choose one above."
    )
    expect(
        page.get_by_role("navigation", name="Webhooks").get_by_role("link").first
    ).to_be_visible()
    expect(page.locator(".deliveries")).to_have_count(0)
    expect(page.get_by_text("Triggers:")).to_have_count(0)


def test_an_id_in_the_address_stays_one_path_segment_of_the_api(
    page: Page, console_server: ConsoleServer
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/console/#/apps")
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    requested.clear()
    page.goto("/console/#/conversations/..%2Fapps")  # not a way to the apps
    expect(page.get_by_role("alert")).to_be_visible()
    project = console_server.credentials.project_id
    assert requested, "the page asked nothing"
    assert not [url for url in requested if url.endswith(f"/projects/{project}/apps")]


def test_an_access_key_session_whose_token_is_refused_signs_in_again(
    page: Page, console_server: ConsoleServer
) -> None:
    creds = console_server.credentials
    page.goto("/console/#/sign-in")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Key ID").fill(creds.key_id)
    page.get_by_label("Key secret").fill(creds.key_secret)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")

    # The token expires: the API refuses it, and so does the stream when it reconnects (a
    # stream lasts 10 s), which it used to try again forever.
    page.evaluate(
        """() => {
          const current = JSON.parse(sessionStorage.getItem('chorus.session'));
          current.access_token = 'expired';
          sessionStorage.setItem('chorus.session', JSON.stringify(current));
        }"""
    )
    page.route(
        "**/console/api/projects/*/stream*",
        lambda route: route.fulfill(
            status=401, json={"error": {"code": 401, "message": "Token expired"}}
        ),
    )
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=30_000)
    assert page.evaluate("sessionStorage.getItem('chorus.session')") is None


def test_sign_in_offers_the_local_mode_only_where_the_server_does(
    page: Page, console_server: ConsoleServer, production_server: str
) -> None:
    local = page.get_by_role("button", name="Use the dev project (local mode)")
    page.goto(f"{production_server}/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Key ID")).to_be_visible()
    expect(local).to_have_count(0)

    # Refused (this browser is not on the server's machine): the server's reason, not
    # "the simulator is off".
    page.route(
        "**/console/session",
        lambda route: route.fulfill(
            status=403,
            json={"error": {"code": 403, "message": "Offered only to a browser on this machine"}},
        ),
    )
    page.goto(f"{console_server.url}/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(
        page.get_by_text("Local sign-in refused: Offered only to a browser on this machine.")
    ).to_be_visible()
    expect(local).to_have_count(0)
    expect(page.get_by_text("simulator is off")).to_have_count(0)

    page.unroute("**/console/session")
    page.reload()
    local.click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()


def test_handset_settings_changed_elsewhere_show_live(
    page: Page, console_server: ConsoleServer
) -> None:
    number = unique_number()
    sim(console_server, "PATCH", f"/handsets/sms/{number}", {})
    page.goto("/console/#/simulator")
    handset = page.get_by_role("region", name=f"Handset SMS {number}")
    expect(handset.get_by_label("Reachable")).to_be_checked()
    expect(page.locator("#live")).to_have_text("live")
    sim(console_server, "PATCH", f"/handsets/sms/{number}", {"reachable": False})
    expect(
        page.get_by_role("region", name=f"Handset SMS {number}").get_by_label("Reachable")
    ).not_to_be_checked()
