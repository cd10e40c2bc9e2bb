"""Constants shared by the fix tests and their conftest (a uniquely named module: importing
``conftest`` by name would collide with other test folders' conftest modules)."""

LAB_PASSWORD = "Fx-8812-lab-Pw!"  # distinctive test-only password for the 127.0.0.1 listeners
LAB_PASSWORD_ENV = "PARAGON_FIX_TEST_LAB_PW"
SERVICE_PASSWORD = "Svc-Acct-9931-Secret!"  # the Infrastructure Service account password under test
SERVICE_PASSWORD_ENV = "PARAGON_FIX_TEST_SVC_PW"
