"""Integer codes the generator uses in its NumPy arrays (visit types, schemes)."""

INPATIENT, OUTPATIENT, CHRONIC, PHARMACY = 0, 1, 2, 3
VISIT_CODES = ("inpatient", "outpatient", "chronic_outpatient", "pharmacy")
EMPLOYEE, RESIDENT = 0, 1
