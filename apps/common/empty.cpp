// Keeps the app-common library non-empty before any shared app code exists.
