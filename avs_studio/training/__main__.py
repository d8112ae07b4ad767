"""`python -m avs_studio.training --project DIR --name NAME ...` (see avs_studio.training.run)."""

from avs_studio.training.run import main

raise SystemExit(main())
