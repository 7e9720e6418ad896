"""Reports for people: the Excel workbook (XlsxWriter, native charts); the HTML report comes with #9."""
