
void f()
}
void g()
int a;
void f()
int a;
void f()
void f()
int a;
