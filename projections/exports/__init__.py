"""Timeline entries in the field's formats: ACLED-like CSV, HXL, GeoJSON, TimelineJS.

Pure functions from one merged timeline entry (as `GET /timeline?detail=full`
gives it, plus `located`, its places with coordinates) to one row, feature or
slide, and generators that frame pages of entries as a byte stream. Nothing
here reads a database or knows of HTTP.
"""
