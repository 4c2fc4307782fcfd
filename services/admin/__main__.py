"""`python -m services.admin` is `incidents-admin`."""

from services.admin.cli import run

run()
