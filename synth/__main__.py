from synth.cli.root import main

main()
