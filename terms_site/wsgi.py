import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
# A web process: short database statement timeout (settings, TERMS_PROCESS_KIND).
os.environ.setdefault("TERMS_PROCESS_KIND", "web")

application = get_wsgi_application()
