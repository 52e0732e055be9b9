"""``python -m bot.sandbox.slack --port 8700 --request-url http://127.0.0.1:8600/slack/events``.

Serves the emulated workspace until interrupted; ``--check`` starts it on a free port,
exercises the Web API and the page's JSON API once, prints the result and exits.
"""

from __future__ import annotations

import argparse
import sys

from bot.settings import SlackSettings


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = SlackSettings.model_validate({})
    p = argparse.ArgumentParser(prog="python -m bot.sandbox.slack", description="Local Slack workspace emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--request-url", default="http://127.0.0.1:8600/slack/events",
                   help="the bot's Events/Interactivity/Slash-command URL ('' for none)")
    p.add_argument("--signing-secret", default=defaults.signing_secret.get_secret_value())
    p.add_argument("--bot-token", default=defaults.bot_token.get_secret_value())
    p.add_argument("--timeout", type=float, default=3.0, help="seconds before a delivery counts as timed out")
    p.add_argument("--public-url", default=None, help="URL the bot and browsers reach the emulator at")
    p.add_argument("--check", action="store_true", help="self-check on a free port and exit")
    return p.parse_args(argv)


def check(args: argparse.Namespace) -> int:
    import httpx
    from slack_sdk import WebClient

    from bot.sandbox.slack.app import start_emulator

    handle = start_emulator(None, args.signing_secret, args.bot_token, port=0)
    try:
        client = WebClient(token=args.bot_token, base_url=handle.api_url)
        auth = client.auth_test()
        posted = client.chat_postMessage(channel="#incidents", text="emulator self-check",
                                         blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*ok*"}}])
        state = httpx.get(f"{handle.url}/ui/state", params={"user": "U0ALICE", "channel": posted["channel"]}).json()
        page = httpx.get(f"{handle.url}/")
        ok = bool(auth["ok"] and posted["ok"] and state["messages"] and page.status_code == 200)
        print(f"slack emulator check: {'ok' if ok else 'FAILED'} ({handle.url}, {len(state['channels'])} channels)")
        return 0 if ok else 1
    finally:
        handle.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.check:
        return check(args)
    import uvicorn

    from bot.sandbox.slack.app import create_app
    from bot.sandbox.slack.outbound import Outbound
    from bot.sandbox.slack.state import EmulatorState

    public = args.public_url or f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    state = EmulatorState(public_url=public, bot_token=args.bot_token)
    outbound = Outbound(state, args.request_url or None, args.signing_secret, timeout_s=args.timeout)
    print(f"Slack emulator on {public}  (Web API {public}/api/, bot at {args.request_url or '-'})", flush=True)
    try:
        uvicorn.run(create_app(state, outbound), host=args.host, port=args.port, log_level="warning")
    finally:
        outbound.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
