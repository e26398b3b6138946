from omni_mcp.cli import main

main()
