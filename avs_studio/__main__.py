from avs_studio.cli import main

raise SystemExit(main())
