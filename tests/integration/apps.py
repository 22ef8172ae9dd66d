"""Small apps, as files, that the integration tests commit to real git repositories and deploy."""

from __future__ import annotations

FLASK_APP = {
    "requirements.txt": "flask>=3,<4\ngunicorn>=22\n",
    "app.py": (
        "import os\n"
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n\n\n"
        "@app.get('/')\n"
        "def index():\n"
        "    return f\"{os.environ.get('GREETING', 'hello')} from v1\"\n\n\n"
        "@app.get('/healthz')\n"
        "def healthz():\n"
        "    return 'ok'\n"
    ),
}

FASTAPI_APP = {
    "requirements.txt": "fastapi>=0.110\nuvicorn>=0.29\n",
    "main.py": (
        "from fastapi import FastAPI\n\n"
        "app = FastAPI()\n\n\n"
        "@app.get('/')\n"
        "def index():\n"
        "    return {'framework': 'fastapi'}\n"
    ),
}

DJANGO_APP = {
    "requirements.txt": "Django>=5.2,<5.3\ngunicorn>=22\n",
    "manage.py": (
        "#!/usr/bin/env python\n"
        "import os\nimport sys\n\n"
        "if __name__ == '__main__':\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_conf.settings')\n"
        "    from django.core.management import execute_from_command_line\n"
        "    execute_from_command_line(sys.argv)\n"
    ),
    "site_conf/__init__.py": "",
    "site_conf/settings.py": (
        "import os\nfrom pathlib import Path\n\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        "SECRET_KEY = os.environ['SECRET_KEY']\n"
        "DEBUG = False\n"
        "ALLOWED_HOSTS = os.environ.get('ALLOWED_HOSTS', '').split(',')\n"
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'django.contrib.staticfiles']\n"
        "MIDDLEWARE = []\n"
        "ROOT_URLCONF = 'site_conf.urls'\n"
        "WSGI_APPLICATION = 'site_conf.wsgi.application'\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': '/tmp/db.sqlite3'}}\n"
        "STATIC_URL = 'static/'\n"
        "STATIC_ROOT = BASE_DIR / 'staticfiles'\n"
        "USE_TZ = True\n"
    ),
    "site_conf/urls.py": (
        "from django.http import HttpResponse\n"
        "from django.urls import path\n\n\n"
        "def index(request):\n"
        "    return HttpResponse('hello from django')\n\n\n"
        "urlpatterns = [path('', index)]\n"
    ),
    "site_conf/wsgi.py": (
        "import os\n"
        "from django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_conf.settings')\n"
        "application = get_wsgi_application()\n"
    ),
    "static/site.css": "body { color: #222; }\n",
}
