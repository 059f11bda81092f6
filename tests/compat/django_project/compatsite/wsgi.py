"""The WSGI entry point.

`python -m aiowsgi compatsite.wsgi:application --app-dir tests/compat/django_project`
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compatsite.settings")

application = get_wsgi_application()
