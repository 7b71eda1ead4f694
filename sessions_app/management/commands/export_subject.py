"""A data-subject export: `export_subject --session 123456789 [--session ...] [--chat 42]`."""

import json

from django.core.management.base import BaseCommand, CommandError

from sessions_app.retention import NotFound, subject_export


class Command(BaseCommand):
    help = (
        "Print, as JSON, everything stored about one customer's co-browse sessions and chats "
        "(session metadata, audit entries, agent actions, privacy alerts, chat or call and its "
        "messages), for an access request. A session's chat or call comes with it, and a chat's "
        "sessions with the chat."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--session",
            action="append",
            dest="codes",
            default=[],
            metavar="CODE",
            help="A co-browse session ID, 123456789 or '123 456 789' (repeatable).",
        )
        parser.add_argument(
            "--chat",
            action="append",
            dest="chats",
            default=[],
            type=int,
            metavar="ID",
            help="A chat's or call's id (repeatable).",
        )
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, codes=(), chats=(), output=None, **options) -> None:
        if not codes and not chats:
            raise CommandError("Give at least one --session CODE or --chat ID.")
        try:
            export = subject_export(codes=codes, chat_ids=chats)
        except NotFound as e:
            raise CommandError(str(e)) from None
        text = json.dumps(export, indent=2, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        else:
            self.stdout.write(text)
