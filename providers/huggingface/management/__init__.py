"""Model management: finding and converting models, inspecting paths before registration, details, the in-process models resource."""
