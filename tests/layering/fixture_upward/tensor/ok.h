// Fixture: a tensor header with no includes.
#pragma once
