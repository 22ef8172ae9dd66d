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
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': BASE_DIR / 'db.sqlite3'}}\n"
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

# The seed article's Django app: PostgreSQL from discrete variables (DB_NAME, DB_USER,
# DB_PASSWORD, no HOST), SQLite beside the code when they are absent. A `notes` app with
# one migrated table; `/add?text=` writes a row, `/` counts them, `/scratch` writes a file
# beside the code.
ARTICLE_DJANGO_APP = {
    "requirements.txt": "Django>=5.2,<5.3\ngunicorn>=22\npsycopg[binary]>=3.2\n",
    "manage.py": DJANGO_APP["manage.py"].replace("site_conf", "mysite"),
    "mysite/__init__.py": "",
    "mysite/settings.py": (
        "import os\nfrom pathlib import Path\n\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        "SECRET_KEY = os.environ.get('SECRET_KEY', 'django-insecure-article')\n"
        "DEBUG = os.environ.get('DEBUG', 'False') == 'True'\n"
        "ALLOWED_HOSTS = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')\n"
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'notes']\n"
        "MIDDLEWARE = []\n"
        "ROOT_URLCONF = 'mysite.urls'\n"
        "WSGI_APPLICATION = 'mysite.wsgi.application'\n"
        "if os.environ.get('DB_NAME'):\n"
        "    DATABASES = {\n"
        "        'default': {\n"
        "            'ENGINE': 'django.db.backends.postgresql',\n"
        "            'NAME': os.environ['DB_NAME'],\n"
        "            'USER': os.environ.get('DB_USER', ''),\n"
        "            'PASSWORD': os.environ.get('DB_PASSWORD', ''),\n"
        "        }\n"
        "    }\n"
        "else:\n"
        "    DATABASES = {\n"
        "        'default': {\n"
        "            'ENGINE': 'django.db.backends.sqlite3',\n"
        "            'NAME': BASE_DIR / 'db.sqlite3',\n"
        "        }\n"
        "    }\n"
        "USE_TZ = True\n"
        "DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n"
    ),
    "mysite/urls.py": (
        "from django.http import HttpResponse\n"
        "from django.urls import path\n\n"
        "from django.conf import settings\n"
        "from notes.models import Note\n\n\n"
        "def index(request):\n"
        "    return HttpResponse(f'{Note.objects.count()} notes: ' + ','.join(Note.objects.values_list('text', flat=True)))\n\n\n"
        "def add(request):\n"
        "    Note.objects.create(text=request.GET['text'])\n"
        "    return HttpResponse('added')\n\n\n"
        "def clear(request):\n"
        "    Note.objects.all().delete()\n"
        "    return HttpResponse('cleared')\n\n\n"
        "def vendor(request):\n"
        "    from django.db import connection\n"
        "    return HttpResponse(connection.vendor)\n\n\n"
        "def scratch(request):\n"
        "    (settings.BASE_DIR / 'scratch.txt').write_text('written beside the code')\n"
        "    return HttpResponse((settings.BASE_DIR / 'scratch.txt').read_text())\n\n\n"
        "urlpatterns = [\n"
        "    path('', index), path('add', add), path('scratch', scratch), path('vendor', vendor),\n"
        "    path('clear', clear),\n"
        "]\n"
    ),
    "mysite/wsgi.py": DJANGO_APP["site_conf/wsgi.py"].replace("site_conf", "mysite"),
    "notes/__init__.py": "",
    "notes/models.py": (
        "from django.db import models\n\n\n"
        "class Note(models.Model):\n"
        "    text = models.CharField(max_length=100)\n"
    ),
    "notes/migrations/__init__.py": "",
    "notes/migrations/0001_initial.py": (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    initial = True\n"
        "    dependencies = []\n"
        "    operations = [\n"
        "        migrations.CreateModel(\n"
        "            name='Note',\n"
        "            fields=[\n"
        "                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),\n"
        "                ('text', models.CharField(max_length=100)),\n"
        "            ],\n"
        "        ),\n"
        "    ]\n"
    ),
}

# A Flask app that counts its visits in Redis (REDIS_URL, given by a Redis add-on) and keeps
# a file on a volume mounted at /app/uploads.
REDIS_COUNTER_APP = {
    "requirements.txt": "flask>=3,<4\ngunicorn>=22\nredis>=5,<6\n",
    "app.py": (
        "import os\n"
        "from pathlib import Path\n"
        "import redis\n"
        "from flask import Flask, request\n\n"
        "app = Flask(__name__)\n"
        "UPLOADS = Path('/app/uploads')\n\n\n"
        "def store():\n"
        "    return redis.Redis.from_url(os.environ['REDIS_URL'], socket_timeout=5)\n\n\n"
        "@app.get('/hit')\n"
        "def hit():\n"
        "    return str(store().incr('hits'))\n\n\n"
        "@app.get('/count')\n"
        "def count():\n"
        "    return (store().get('hits') or b'0').decode()\n\n\n"
        "@app.get('/put')\n"
        "def put():\n"
        "    (UPLOADS / 'note.txt').write_text(request.args['text'])\n"
        "    return 'stored'\n\n\n"
        "@app.get('/file')\n"
        "def file():\n"
        "    path = UPLOADS / 'note.txt'\n"
        "    return path.read_text() if path.exists() else 'no file'\n\n\n"
        "@app.get('/healthz')\n"
        "def healthz():\n"
        "    return 'ok'\n"
    ),
}
