"""Decode, encode and colour: photos in, linear-light sRGB float32 out, and back. Depends only on core.

Modules: decode (RAW/DNG/JPEG/PNG/TIFF/WebP -> DecodedImage), encode (JPEG, 16-bit TIFF), color (conversions
for numpy and torch), icc (profile writer/reader), dng (DNG writer, mosaic synthesis), metadata (ExifTool),
atomic (atomic file output). Import the module you need; this package imports nothing heavy by itself.
"""
