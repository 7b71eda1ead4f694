"""Create or update a Site from the command line; the last line of output is SITE_KEY=<key>."""

from django.core.management.base import BaseCommand, CommandError

from policies.models import Site, normalize_origin


class Command(BaseCommand):
    help = (
        "Create or update the site NAME with the given origins (replacing its current ones). "
        "Prints SITE_KEY=<key> as the last line, for scripts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="The site's name (unique).")
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            required=True,
            metavar="ORIGIN",
            help="An origin such as https://shop.example.com (repeatable).",
        )
        parser.add_argument(
            "--no-write-mode",
            action="store_true",
            help="Agents may not ask for write mode on this site.",
        )
        parser.add_argument(
            "--allow-submit",
            action="store_true",
            help="Agents may press submit buttons in write mode.",
        )

    def handle(self, *args, **options) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty.")
        origins = []
        for value in options["origins"]:
            try:
                origins.append(normalize_origin(value))
            except ValueError as e:
                raise CommandError(f"Bad --origin: {e}") from None
        origins = list(dict.fromkeys(origins))

        site = Site.objects.filter(name=name).first()
        created = site is None
        if site is None:
            site = Site(name=name)
        site.allowed_origins = "\n".join(origins)
        site.write_mode_enabled = not options["no_write_mode"]
        site.submit_restricted = not options["allow_submit"]
        site.save()

        self.stdout.write(f"Site '{site.name}' {'created' if created else 'updated'}.")
        self.stdout.write(f"  origins:       {', '.join(site.origins)}")
        self.stdout.write(
            f"  write mode:    {'enabled' if site.write_mode_enabled else 'disabled'}"
        )
        self.stdout.write(
            f"  submit:        {'restricted' if site.submit_restricted else 'allowed'}"
        )
        self.stdout.write(f"SITE_KEY={site.key}")
