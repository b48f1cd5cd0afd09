"""`python manage.py make_curator USERNAME --service-body SLUG [...]`: make a
staff user in the Curators group who curates those service bodies (and
their children). Creates the user if needed, without a password: set one
with `changepassword USERNAME`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fellowships.models import ServiceBody
from meetings.curation import curator_assign


class Command(BaseCommand):
    help = "Make a user a curator of one or more service bodies (and the bodies below them)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--service-body", action="append", required=True, dest="service_bodies",
                            help="Slug of a service body; repeat for several.")
        parser.add_argument("--email", default="")
        parser.add_argument("--replace", action="store_true", help="Drop the bodies not named.")

    def handle(self, *args, username: str, service_bodies: list[str], email: str, replace: bool, **options):
        bodies = list(ServiceBody.objects.filter(slug__in=service_bodies))
        missing = sorted(set(service_bodies) - {b.slug for b in bodies})
        if missing:
            raise CommandError(f"No service body with slug {', '.join(missing)}; nothing was changed.")
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
            user.save()
        curator_assign(user=user, service_bodies=bodies, replace=replace)
        names = ", ".join(b.name for b in bodies)
        self.stdout.write(f"{username} curates {names}.")
        if created:
            self.stdout.write(f"Set a password with: python manage.py changepassword {username}")
