"""Running plugin code so that no plugin can stop or stall the gateway (see runner.PluginRunner)."""
