"""Settings of the sample app; everything environment-specific comes from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

from django.core.exceptions import ImproperlyConfigured

# The stack gives the app a generated DJANGO_SECRET_KEY (appSecretKeyName), or one
# from appSecrets. The placeholder is for local DEBUG runs only.
PLACEHOLDER_SECRET_KEY = "insecure-placeholder-set-DJANGO_SECRET_KEY"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or PLACEHOLDER_SECRET_KEY
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
if SECRET_KEY == PLACEHOLDER_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: refusing to start with the public placeholder key while DEBUG is off"
    )
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "*").split(",")

# mysite is an app too: its management commands are the worker and the scheduled report.
INSTALLED_APPS = ["django.contrib.contenttypes", "mysite"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DATABASE_PATH", "/tmp/db.sqlite3"),
    }
}

# The ALB terminates TLS and nginx passes the scheme on.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_TZ = True
