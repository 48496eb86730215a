"""Datasets the field already holds (ACLED, UCDP GED): one CSV row to one report.

Each format is a pure mapping from a row (column name -> text) to a `MappedRow`;
reading files, the registry and the store are the importer's (service/dataset_import.py).
"""
