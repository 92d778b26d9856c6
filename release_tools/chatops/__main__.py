"""`python -m release_tools.chatops COMMAND`: what each chat job of .gitlab-ci.yml runs."""

import sys

from .entrypoint import main

sys.exit(main())
