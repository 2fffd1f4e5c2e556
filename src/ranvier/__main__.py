from ranvier.main import main

raise SystemExit(main())
