from flask import Blueprint

bp = Blueprint("formbuilder", __name__)

from participation.formbuilder import views  # noqa: E402,F401  (routes attach to bp)
