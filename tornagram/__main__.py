from tornagram.cli import main

raise SystemExit(main())
