from synth.cli.app import main

main()
