from ranvier.cli.main import main

raise SystemExit(main())
