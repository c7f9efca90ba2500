// Placeholder translation unit; replaced when this library's sources land.
